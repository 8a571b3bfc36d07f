from starlette.requests import HTTPConnection

from simulator.api.headers import header_map


def test_header_map_is_lower_case_and_keeps_the_first_of_repeated_headers() -> None:
    scope = {"type": "http", "headers": [(b"Api-Key", b"one"), (b"x-a", b"1"), (b"api-key", b"two")]}
    headers = header_map(HTTPConnection(scope))
    assert headers == {"api-key": "one", "x-a": "1"} and header_map(HTTPConnection(scope)) is headers
