"""Portal (vm112): the onboarding wizard, provider clients, sandbox and Ops outbox."""
