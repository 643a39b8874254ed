"""Generate the secrets of an installation into untracked env files, random and consistent.

    python deploy/make_secrets.py            # deploy/.env and deploy/k8s/overlays/dev/secrets/*.env
    python deploy/make_secrets.py --only compose     (or --only k8s-dev)

Nothing secret is committed: these files are gitignored; the committed `*.example` files only
name the keys. Each password appears once, and every place that needs it (a NATS user's password
and the URL a service logs in with; a PostgreSQL role's password and the service's database URL)
is written from the same value. Passwords are hex, so they sit in a URL as they are. Existing
files are kept unless --force (changing a password means changing it on the servers too).

For Kubernetes production, create the same keys as Secrets from your secret store instead
(deploy/README.md, "Secrets").
"""

import argparse
import base64
import os
import secrets
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
SERVICES = ("dossier", "planning", "scoring")
NATS_USERS = ("dossier", "planning", "scoring", "gateway", "anchor", "backup", "ops",
              "agency-STTTT", "agency-SNV", "sys")
# Each signs with its own Ed25519 key (README.md, "Signed history"); the gateway publishes the
# public keys (CCHC_GATEWAY_AUDIT_KEYRING).
SIGNERS = (*SERVICES, "anchor")


def signing_key_variable(owner: str) -> str:
    return f"CCHC_{owner.upper()}_SIGNING_KEY"


def keyring(values: dict[str, str]) -> str:
    """The public keys of the signing keys in ``values``, as the gateway and `cchc verify` read
    them (the same ids as cchc.runtime.signing_keys: owner and 16 hex digits of the key's hash)."""
    import base64
    import hashlib
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    keys = []
    for owner in SIGNERS:
        private = Ed25519PrivateKey.from_private_bytes(
            base64.b64decode(values[signing_key_variable(owner)]))
        raw = private.public_key().public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)
        keys.append({"key_id": f"{owner}-{hashlib.sha256(raw).hexdigest()[:16]}", "owner": owner,
                     "algorithm": "Ed25519", "public_key": base64.b64encode(raw).decode()})
    return json.dumps({"keys": keys}, separators=(",", ":"))


def nats_password_variable(user: str) -> str:
    return "CCHC_NATS_" + user.upper().replace("-", "_") + "_PASSWORD"


def generate() -> dict[str, str]:
    """Every secret value, by its variable name."""
    values = {nats_password_variable(user): secrets.token_hex(24) for user in NATS_USERS}
    values["CCHC_NATS_ROUTE_PASSWORD"] = secrets.token_hex(24)
    values["CCHC_POSTGRES_PASSWORD"] = secrets.token_hex(24)  # the superuser: init only
    for service in SERVICES:
        values[f"CCHC_POSTGRES_{service.upper()}_PASSWORD"] = secrets.token_hex(24)
    values["CCHC_GATEWAY_JWT_SECRET"] = secrets.token_urlsafe(48)
    for owner in SIGNERS:  # an Ed25519 private key is 32 random bytes
        values[signing_key_variable(owner)] = base64.b64encode(secrets.token_bytes(32)).decode()
    values["CCHC_GATEWAY_AUDIT_KEYRING"] = keyring(values)
    return values


def backup_recipient(identity_file: Path) -> str:
    """The age public key the scheduled backups are encrypted to, from the identity in
    ``identity_file``, made there (0600) when missing: that file alone opens the backups. It
    is not needed to take them; keep it offline, away from the backups."""
    from pyrage import x25519

    if not identity_file.exists():
        identity_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(identity_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("# The key that opens CCHC Ledger's backups (cchc backup restore --identity)."
                      "\n# Keep it offline, away from the backups. Never commit it.\n"
                      f"{x25519.Identity.generate()}\n")
        print(f"wrote {identity_file}: keep it offline, away from the backups", file=sys.stderr)
    secret = next(line.strip() for line in identity_file.read_text().splitlines()
                  if line.startswith("AGE-SECRET-KEY-"))
    return str(x25519.Identity.from_str(secret).to_public())


def compose_env(values: dict[str, str]) -> dict[str, str]:
    # The route password is used by the cluster profile (compose.cluster.yaml) only.
    return {"CCHC_VERSION": "dev", "CCHC_HTTP_PORT": "8000", **values}


def k8s_dev_envs(values: dict[str, str]) -> dict[str, dict[str, str]]:
    """The env files the dev overlay's secretGenerator reads, by file name."""
    files = {"nats.env": {k: v for k, v in values.items() if k.startswith("CCHC_NATS_")}}
    for service in SERVICES:
        upper = service.upper()
        files[f"{service}.env"] = {
            f"CCHC_{upper}_NATS_URL":
                f"tls://{service}:{values[nats_password_variable(service)]}@nats:4222",
            f"CCHC_{upper}_DATABASE_URL":
                f"postgresql://cchc_{service}:{values[f'CCHC_POSTGRES_{upper}_PASSWORD']}"
                f"@postgres:5432/cchc_{service}",
            signing_key_variable(service): values[signing_key_variable(service)],
        }
    files["anchor.env"] = {
        "CCHC_ANCHOR_NATS_URL":
            f"tls://anchor:{values[nats_password_variable('anchor')]}@nats:4222",
        signing_key_variable("anchor"): values[signing_key_variable("anchor")],
    }
    files["backup.env"] = {
        "CCHC_BACKUP_NATS_URL":
            f"tls://backup:{values[nats_password_variable('backup')]}@nats:4222",
        "CCHC_BACKUP_RECIPIENT": values["CCHC_BACKUP_RECIPIENT"],
    }
    files["gateway.env"] = {
        "CCHC_GATEWAY_NATS_URL": f"tls://gateway:{values[nats_password_variable('gateway')]}@nats:4222",
        "CCHC_GATEWAY_JWT_SECRET": values["CCHC_GATEWAY_JWT_SECRET"],
        "CCHC_GATEWAY_AUDIT_KEYRING": values["CCHC_GATEWAY_AUDIT_KEYRING"],
    }
    # Not read by kustomize: the role passwords, for init-databases.sql on your PostgreSQL.
    files["postgres.env"] = {k: v for k, v in values.items() if k.startswith("CCHC_POSTGRES_")}
    return files


def write_env(path: Path, values: dict[str, str], force: bool) -> bool:
    if path.exists() and not force:
        print(f"kept {path} (exists; --force replaces it)", file=sys.stderr)
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # 0600 from the start
    with os.fdopen(fd, "w") as out:
        out.write("# Generated by deploy/make_secrets.py. Never commit this file.\n")
        out.writelines(f"{key}={value}\n" for key, value in values.items())
    print(f"wrote {path}", file=sys.stderr)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deploy-dir", type=Path, default=DEPLOY,
                        help="the deploy/ folder to write into (default: this one)")
    parser.add_argument("--only", choices=["compose", "k8s-dev"])
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    values = generate()
    # One identity for every deployment made from this folder, kept when it exists.
    values["CCHC_BACKUP_RECIPIENT"] = backup_recipient(args.deploy_dir / "backup-identity.txt")
    if args.only in (None, "compose"):
        write_env(args.deploy_dir / ".env", compose_env(values), args.force)
    if args.only in (None, "k8s-dev"):
        folder = args.deploy_dir / "k8s" / "overlays" / "dev" / "secrets"
        for name, content in k8s_dev_envs(values).items():
            write_env(folder / name, content, args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
