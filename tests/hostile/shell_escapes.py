from tests.hostile import Case

CASE = Case(
    doc="cells with shell escapes and magics: !rm -rf ~, %%bash, %matplotlib inline",
    extra=("!rm -rf ~\n%matplotlib inline\nx = 1", "%%bash\nrm -rf /\n"),
)
