"""The one base class of the errors linkq reports to its user.

A ``LinkqError`` is a problem with the input, the options or the files given (an export linkq cannot
read, a folder without manifest, a resume that does not match, a model that does not fit): the
``linkq`` command catches it once and prints its message, without a traceback. Anything else is a
bug and keeps its traceback.
"""


class LinkqError(Exception):
    """Bad input, options or files: the message says what and how to fix it."""
