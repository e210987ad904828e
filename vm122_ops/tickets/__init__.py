"""Desk tickets: opened and extended by events, read as a list or one ticket (ticket.py),
what agents change on them (work.py), who to contact (contacts.py), the search
(search.py) and the CSV downloads (export.py)."""
