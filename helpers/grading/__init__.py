"""The classroom edition: student notebooks without solutions, and a grader.

Modules:
    exercises   find a notebook's exercises (label, stub cell, check cell, solution)
                and make its student edition (``tools/student.py`` writes ``student/``)
    execute     run a submission in a fresh kernel with a time limit (nbclient)
    checker     the clean process that runs one exercise's check on a student's code

The command line is ``python -m helpers.grade``; see :mod:`helpers.grade`.
"""
