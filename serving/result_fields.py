"""The result columns of every scored link, in output order.

A module of its own so that the process that reads exports and writes the output table can name
the columns without importing the model stack (LightGBM, pandas, the page parser).
"""

RESULT_FIELDS = ("score", "verdict", "risk", "reasons", "placement_zone", "status", "flags")
