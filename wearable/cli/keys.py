"""``wearable keys generate --out DIR``: create the Ed25519 key that signs model releases.

Writes ``DIR/model-signing.pem`` (the private key, PKCS#8 PEM, mode 0600: only the
training job reads it) and ``DIR/model-signing.pub`` (base64 of the raw 32-byte public
key), and prints the line to put in each gateway's config. Never overwrites a key:
replacing it would lock every gateway out of new releases until they are reconfigured.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from wearable_core.contracts.model_release import keypair_generate
from wearable_core.private_files import private_dir, private_write

PRIVATE_FILE = "model-signing.pem"
PUBLIC_FILE = "model-signing.pub"


def register(commands: Any) -> None:
    """Add ``keys`` and its subcommands to the top-level parser."""
    keys = commands.add_parser(
        "keys",
        help="keys that sign model releases for the gateways",
        description="Keys that sign model releases for the gateways.",
    )
    actions = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    generate = actions.add_parser(
        "generate", help="create a new Ed25519 signing key pair (refuses to overwrite)"
    )
    generate.add_argument(
        "--out", type=Path, required=True, help="directory for model-signing.pem/.pub"
    )
    generate.set_defaults(handler=_generate)


def keys_generate(out: Path) -> str:
    """Write a new key pair into ``out``; return the public key (base64).

    Raises
    ------
    FileExistsError
        Either key file already exists (nothing is written).

    Examples
    --------
    >>> import tempfile
    >>> len(keys_generate(Path(tempfile.mkdtemp())))
    44
    """
    private_path, public_path = out / PRIVATE_FILE, out / PUBLIC_FILE
    for path in (private_path, public_path):
        if path.exists():
            raise FileExistsError(
                f"{path} already exists: refusing to overwrite a signing key (gateways "
                "trust its public half); move it away first if you really mean to rotate"
            )
    private_dir(out)
    pem, public = keypair_generate()
    # Exclusive closes the race with a concurrent run; 0600 from creation, so the key is
    # never readable by others even for a moment, whatever the umask.
    private_write(private_path, pem, exclusive=True)
    fd = os.open(public_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="ascii") as text:
        text.write(public + "\n")
    return public


def _generate(args: argparse.Namespace) -> int:
    """``wearable keys generate --out DIR``: exit 0, or 1 when a key already exists."""
    try:
        public = keys_generate(args.out)
    except (FileExistsError, OSError) as exc:
        print(f"wearable keys generate: {exc}", file=sys.stderr)
        return 1
    print(
        f"wrote {args.out / PRIVATE_FILE} (private, 0600) and {args.out / PUBLIC_FILE}\n"
        "put this in each gateway's config:\n"
        "[models]\n"
        f'public_key = "{public}"'
    )
    return 0
