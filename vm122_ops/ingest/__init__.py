"""Taking a webhook in: its signature (signatures.py), its body as an Event (events.py),
storing it once with everything it changes in one write unit (storing.py), and folding it
into its session's state (session_fold.py)."""
