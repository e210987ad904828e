"""The one webhook key and operator token the tests run both services with."""

from __future__ import annotations

import base64

KEY = bytes(range(32))
SECRET = "whsec_" + base64.b64encode(KEY).decode()  # KEY as OPS_WEBHOOK_SECRET spells it
TOKEN = "operator-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# The password of the Desk accounts tests create (tests.support.apps.OpsServer).
PASSWORD = "correct horse battery staple"
