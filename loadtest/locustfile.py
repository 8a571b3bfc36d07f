"""Azure OpenAI load test: `locust -f loadtest/locustfile.py` from the repository root (see docs/loadtest.md).

With no user class named on the command line, all three scenarios run as a weighted mix; name one
(`ChatUser`, `StreamingChatUser`, `EmbeddingsUser`) to run it alone.
"""

from locust import events

from loadtest.reporting import install
from loadtest.users import ChatUser, EmbeddingsUser, StreamingChatUser

install(events)

__all__ = ["ChatUser", "EmbeddingsUser", "StreamingChatUser"]
