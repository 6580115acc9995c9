"""Each built-in detector: real-format positives, and near-misses from
ordinary prose and code that must not trip it."""

from __future__ import annotations

import base64
import json

import pytest

from firewall.engine import Detector
from firewall.engine.banking import iban_valid, luhn_valid
from tests.firewall.helpers import spans

D = Detector

OPENAI_LEGACY = "sk-" + "Ab3dEf5hIj7lMn9pQr1tUv3xYz5bCd7fGh9jKl1nOp3rSt5v"
OPENAI_PROJECT = "sk-proj-" + "Q7w_E9rT-y2UiO4pA6sD8fG0hJ1kL3zX5cV7bN9mQ2wE4rT6yU8iO0pA1sD3fG5hJ7kL9zX1cV3"
ANTHROPIC = "sk-ant-api03-" + "Zq8Xw2Vb5Nm1Lk7Jh4Gf6Ds3Ap9Oi0Uy" * 3 + "AA"
GITHUB_CLASSIC = "ghp_" + "R7sT2uV9wX4yZ1aB6cD3eF8gH5iJ0kL2mN7o"
GITHUB_FINE = (
    "github_pat_"
    + "11ABCDEFG0123456789abc"
    + "_"
    + "Xy7Zq2Wv9Ut4Sr1Qp6On3Ml8Kj5Ih0Gf2Ed7Cb4Az9Yx1Wv6Ut3Sr8Qp5On"
)
SLACK_BOT = "xoxb-" + "2871234567890-5123456789012-" + "Rk3Tq8Wm2Xn7Yp4Zs9Av1Bu6C"
SLACK_HOOK = "https://hooks.slack.com/services/T0A1B2C3D/B4E5F6G7H/" + "aZ3bY8cX2dW7eV1fU6gT5hS4"


def _jwt(header: dict, payload: dict, sig: str = "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c") -> str:
    def enc(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return f"{enc(header)}.{enc(payload)}.{sig}"


JWT = _jwt({"alg": "HS256", "typ": "JWT"}, {"sub": "1234567890", "name": "Jane", "iat": 1516239022})
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n"
    "KUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQJAIJLixBy2qpFoS4DSmoEm\n"
    "-----END RSA PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    ("kind", "secret"),
    [
        (D.OPENAI_KEY, OPENAI_LEGACY),
        (D.OPENAI_KEY, OPENAI_PROJECT),
        (D.ANTHROPIC_KEY, ANTHROPIC),
        (D.AWS_ACCESS_KEY, "AKIAIOSFODNN7EXAMPLE"),
        (D.AWS_ACCESS_KEY, "ASIAY34FZKBOKMUTVV7A"),
        (D.GITHUB_TOKEN, GITHUB_CLASSIC),
        (D.GITHUB_TOKEN, GITHUB_FINE),
        (D.SLACK_TOKEN, SLACK_BOT),
        (D.SLACK_TOKEN, SLACK_HOOK),
        (D.PRIVATE_KEY, PEM),
        (D.PRIVATE_KEY, PEM.replace("RSA ", "")),
        (D.PRIVATE_KEY, PEM.replace("RSA", "OPENSSH")),
        (D.JWT, JWT),
        (D.EMAIL, "jane.doe+news@example.co.uk"),
        (D.EMAIL, "ops@mail.junction.dev"),
        (D.PHONE, "+44 20 7946 0958"),
        (D.PHONE, "+1-415-555-0132"),
        (D.PHONE, "(415) 555-0132"),
        (D.PHONE, "415.555.0132"),
        (D.PHONE, "+4930901820"),
        (D.PAYMENT_CARD, "4111 1111 1111 1111"),
        (D.PAYMENT_CARD, "4111-1111-1111-1111"),
        (D.PAYMENT_CARD, "5555555555554444"),
        (D.PAYMENT_CARD, "3782 822463 10005"),
        (D.PAYMENT_CARD, "6011111111111117"),
        (D.IBAN, "GB82 WEST 1234 5698 7654 32"),
        (D.IBAN, "DE89370400440532013000"),
        (D.IBAN, "FR14 2004 1010 0505 0001 3M02 606"),
    ],
)
def test_detector_finds_secret_in_prose(kind, secret):
    text = f"Here it is: {secret}. Thanks!"
    assert spans(kind, text) == [secret]


def test_generic_secret_masks_only_the_value():
    for line in (
        'api_key = "Zx8Qp2Lm9Vt4Rn7Ks1Wd"',
        "DB_PASSWORD=Hq7#pL2vX9mK4wRz",
        "client_secret: 'f3A9kQ2xV7bN1mZ8pL4w'",
        '"token": "a8F3kd92LmQx7Vb1Nz4P"',
    ):
        found = spans(D.GENERIC_SECRET, line)
        assert len(found) == 1, line
        assert (
            found[0] in line and "=" not in found[0][:1] and not found[0].startswith(("api", "DB", "client"))
        )


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        # provider keys: words that look like prefixes, short or low-entropy bodies
        (D.OPENAI_KEY, "Run the task-runner with sk-learn installed."),
        (D.OPENAI_KEY, "Use the prefix sk-proj-my-project-name-for-testing-only-now here"),
        (D.OPENAI_KEY, "The key looks like sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        (D.OPENAI_KEY, "risk-" + "a1B2c3D4" * 5),  # a word ending in "sk-" is not a key
        (D.ANTHROPIC_KEY, "Keys start with sk-ant-api03- followed by characters."),
        (D.AWS_ACCESS_KEY, "AKIAIOSFODNN7EXAMPL is too short"),
        (D.AWS_ACCESS_KEY, "AKIA1OSF0DNN7EXAMP89 uses digits AWS never does"),
        (D.AWS_ACCESS_KEY, "XAKIAIOSFODNN7EXAMPLE is embedded"),
        (D.GITHUB_TOKEN, "see ghp_short and gho_ tokens in the docs"),
        (D.GITHUB_TOKEN, "ghp_" + "a" * 36),
        (D.SLACK_TOKEN, "xoxb-your-token-here"),
        (
            D.PRIVATE_KEY,
            "-----BEGIN PUBLIC KEY-----\nMFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAK\n-----END PUBLIC KEY-----",
        ),
        (D.PRIVATE_KEY, "openssl genrsa writes a PRIVATE KEY block"),
        (D.JWT, "eyJustSomething.eyJunkText123.notATokenAtAll"),
        (D.JWT, "version eyJ1.2.3"),
        (D.GENERIC_SECRET, 'password = getpass.getpass("Password: ")'),
        (D.GENERIC_SECRET, 'api_key = os.environ["OPENAI_API_KEY"]'),
        (D.GENERIC_SECRET, "token=abcdefghijklmnopqrst"),
        (D.GENERIC_SECRET, "secret_key = 'your-secret-key-1234'"),
        (D.GENERIC_SECRET, "mytoken=Zx8Qp2Lm9Vt4Rn7Ks1Wd"),
        (D.GENERIC_SECRET, "The token is valid for 3600 seconds."),
        # personal data
        (D.EMAIL, "Decorate with @app.route('/x') or @pytest.fixture"),
        (D.EMAIL, "ssh user@localhost and pip install pkg@1.2.3"),
        (D.EMAIL, "a@b.c is not an address, neither is name@domain"),
        (D.EMAIL, "broken..dots@example.com"),
        (D.PHONE, "The meeting is on 2024-10-12 at 10:30."),
        (D.PHONE, "Version 1.2.3.4 and IP 192.168.100.200"),
        (D.PHONE, "ISBN 978-3-16-148410-0"),
        (D.PHONE, "Order 123-456-7890 (an area code cannot start with 1)"),
        (D.PHONE, "Compute 3+4 = 7 and 2+2=4"),
        (D.PHONE, "Call 4155550132 later"),  # ten bare digits: an id as often as a number
        (D.PHONE, "Totals: +5 points, +12 items"),
        (D.PAYMENT_CARD, "4111 1111 1111 1112"),  # Luhn fails
        (D.PAYMENT_CARD, "1234 5678 9012 3456"),  # no issuer starts with 1
        (D.PAYMENT_CARD, "Order 9780201633610 shipped"),
        (D.PAYMENT_CARD, "Tracking 41111111111111110000"),  # longer than any card
        (D.PAYMENT_CARD, "Years 2019 2020 2021 2022"),
        (D.PAYMENT_CARD, "41 11 11 11 11 11 11 11"),  # not a card grouping
        (D.IBAN, "GB82 WEST 1234 5698 7654 33"),  # mod 97 fails
        (D.IBAN, "DE89370400440532013001"),
        (D.IBAN, "ZZ12 3456 7890 1234 5678"),  # not a country
        (D.IBAN, "The SKU AB12CDEF34567890 is in stock"),
    ],
)
def test_near_misses_do_not_trip(kind, text):
    assert spans(kind, text) == []


def test_ordinary_prose_and_code_trip_nothing():
    sample = """
    def fetch(url: str, *, timeout: float = 2.5) -> dict:
        # See https://docs.python.org/3/library/re.html#re.compile for details.
        resp = session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
        return resp.json()  # 200 OK, 404 Not Found
    The quarterly report (Q3 2024) showed revenue of $1,234,567.89 across 12 regions,
    up 4.5% from 2023-07-01; ticket JIRA-4821 tracks it. Call the function at 10:45.
    UUID 123e4567-e89b-12d3-a456-426614174000, sha256 9f86d081884c7d659a2feaa0c55ad015.
    """
    for kind in Detector:
        assert spans(kind, sample) == [], kind


def test_luhn_and_mod97():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("GB82WEST12345698765432") and not iban_valid("GB82WEST12345698765431")
    assert not iban_valid("GB82WEST1234569876543")  # wrong length for GB


def test_card_inside_longer_run_of_separated_numbers():
    assert spans(D.PAYMENT_CARD, "ref 12 4111 1111 1111 1111 end") == ["4111 1111 1111 1111"]


def test_truncated_private_key_is_still_masked():
    text = "key:\n" + PEM.split("-----END")[0] + "\n(truncated)"
    (found,) = spans(D.PRIVATE_KEY, text)
    assert found.startswith("-----BEGIN RSA PRIVATE KEY-----") and "KUpRKfFL" in found
