"""`review OUT`: grade the written answers in the browser (see server.py, db.py, render.py)."""
