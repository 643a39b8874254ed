"""`cchc token`: a person's token names the person and expires (issue 13)."""

import jwt

from cchc.cli.installation import Installation
from cchc.cli.main import main


def test_a_token_needs_a_person_and_lasts_8_hours_unless_told(tmp_path, capsys):
    assert main(["token", "--role", "admin", "--data-dir", str(tmp_path)]) == 2
    assert "--sub" in capsys.readouterr().err
    assert main(["token", "--role", "officer", "--sub", "lan", "--data-dir", str(tmp_path)]) == 2
    assert main(["token", "--role", "officer", "--agency", "SNV", "--sub", "lan",
                 "--data-dir", str(tmp_path)]) == 0
    secret = Installation(tmp_path.resolve()).jwt_secret()
    claims = jwt.decode(capsys.readouterr().out.strip(), secret, ["HS256"])
    assert (claims["sub"], claims["role"], claims["agency"]) == ("lan", "officer", "SNV")
    assert claims["exp"] - claims["iat"] == 8 * 3600 and claims["jti"]
    assert main(["token", "--role", "inspector", "--sub", "hoa", "--ttl", "600",
                 "--data-dir", str(tmp_path)]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), secret, ["HS256"])
    assert claims["exp"] - claims["iat"] == 600


def test_revoke_needs_exactly_one_of_jti_and_sub(tmp_path, capsys):
    assert main(["token", "revoke", "--data-dir", str(tmp_path)]) == 2
    assert main(["token", "revoke", "--jti", "a", "--sub", "b", "--data-dir", str(tmp_path)]) == 2
    # No installation there yet: nothing to authenticate with.
    assert main(["token", "revoke", "--jti", "a", "--data-dir", str(tmp_path)]) == 1
    assert "admin.token" in capsys.readouterr().err
