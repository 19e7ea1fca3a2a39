"""The run lifecycle shared by every kind of run: statuses and their groups, the transition table, ending a run,
and the seam through which a domain makes a run due without importing the engine."""
