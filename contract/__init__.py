"""The onboarding event contract, written once and imported by both services.

- ``contract.events``: the wizard's stages in funnel order, the event type that marks
  each one, the failure event, and the session id and webhook-id patterns.

Every other copy of these lists (the schemas' CHECK constraints, the OpenAPI documents,
the Desk's ``frontend/js/state.js``) is checked against this package by
tests/test_contract.py. The services never import each other; both import this.
"""
