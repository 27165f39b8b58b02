"""A Python client for isecom: signs in and encrypts exactly like the browser (docs/PROTOCOL.md).

For scripts and agency systems that cannot run the webmail. It depends on no
served JavaScript: the crypto is ``isecom.crypto``, checked against the
browser's by the shared vectors.
"""

from isecom.client.session import Activated, Client, ClientError, SignedIn

__all__ = ["Activated", "Client", "ClientError", "SignedIn"]
