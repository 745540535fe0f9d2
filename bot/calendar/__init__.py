"""Calendar providers behind one Protocol (``base.py``)."""
