"""What the lean send path must keep refusing after its shortcuts."""
import pytest

from errors import ApiError
from schema import parse_json


@pytest.mark.parametrize("raw", [
    b'{"message": "\\ud800"}', b'{"message": "\\uDFFF x"}',
    b'{"message": "\xed\xa0\x80"}', '{"message": "\\ud800"}',
    '{"message": "\ud800"}'])
def test_lone_surrogates_are_invalid_json(raw):
    with pytest.raises(ApiError) as caught:
        parse_json(raw)
    assert caught.value.code == "invalid_json"


@pytest.mark.parametrize("raw, text", [
    (b'{"message": "caf\\u00e9 \\ud83d\\ude00"}', "caf\u00e9 \U0001f600"),
    ('{"message": "\ud55c\uad6d"}'.encode(), "\ud55c\uad6d"),
    (b'{"message": "plain"}', "plain")])
def test_escapes_pairs_and_hangul_still_parse(raw, text):
    assert parse_json(raw) == {"message": text}
