"""``bizlm init recipe``: look at a data file and write a commented recipe that trains on it."""
