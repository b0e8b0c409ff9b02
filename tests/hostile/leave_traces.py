from tests.hostile import Case

CASE = Case(
    doc="leaves something in every writable place: a file in /tmp, /var/tmp, /dev/shm, "
    "/run/lock, HOME, TMPDIR and the working folder; System V shared memory, semaphores "
    "and a message queue; a POSIX message queue",
    extra=(
        """
import ctypes, os, tempfile
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]
IPC_CREAT = 0o1000
for _ in range(3):  # 3 × 32 MiB of System V shared memory, touched, then detached
    shmid = libc.shmget(0, 32 << 20, IPC_CREAT | 0o666)
    if shmid >= 0:
        addr = libc.shmat(shmid, None, 0)
        if addr not in (None, ctypes.c_void_p(-1).value):
            ctypes.memset(addr, 1, 32 << 20)
            libc.shmdt(addr)
libc.semget(0, 4, IPC_CREAT | 0o666)
msq = libc.msgget(0, IPC_CREAT | 0o666)
msg = ctypes.create_string_buffer(b"\\x01\\0\\0\\0\\0\\0\\0\\0" + b"m" * 1024)
libc.msgsnd(msq, msg, 1024, 0o4000)
try:
    rt = ctypes.CDLL("librt.so.1", use_errno=True)
    rt.mq_open(b"/hw2-leave-traces", os.O_CREAT | os.O_RDWR, 0o666, None)
except OSError:
    pass
places = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue", os.getcwd(),
          os.environ.get("HOME", "/tmp"), tempfile.gettempdir()]
for n, folder in enumerate(places):
    try:
        os.makedirs(os.path.join(folder, f"traces-{n}"), exist_ok=True)
        with open(os.path.join(folder, f"traces-{n}", "a.bin"), "wb") as f:
            f.write(b"x" * (2 << 20))
        with open(os.path.join(folder, f"trace-{n}.bin"), "wb") as f:
            f.write(b"x" * (2 << 20))
    except OSError:
        pass
""",
    ),
)
