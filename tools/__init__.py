"""Maintenance tools of the lrbook repository (not part of lrlib)."""
