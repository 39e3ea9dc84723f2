"""The classroom edition: student notebooks without solutions, and a grader.

Modules:
    exercises   find a notebook's exercises (label, stub cell, check cell, solution)
    edition     make its student edition (``tools/student.py`` writes ``student/``)
    submission  read a submission as data and pair its answers with the book's checks
    runner      the student process: runs an answer and the check, records plain data
    plain       what may cross from a student process to the judge (no pickle)
    boundary    record a check's calls into the answer; replay them in the judge
    judge       the isolated process that decides, from the record alone
    sandbox     bubblewrap, caps, no process left behind; file fingerprints (--unsafe)

Used by the grader and by ``tools/student.py``. The command line is ``python -m helpers.grade``;
see :mod:`helpers.grade`.
"""
