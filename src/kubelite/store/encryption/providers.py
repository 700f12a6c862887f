"""Value transformers of Kubernetes' encryption at rest (k8s.io/apiserver
pkg/storage/value/encrypt): aescbc, aesgcm, secretbox and identity, each behind its prefix.

A stored value written by a provider starts with `k8s:enc:<provider>:v1:<key name>:`, so a
reader knows which key wrote it; identity writes plain bytes (no prefix). Bytes are the same
as kube-apiserver's: aescbc is IV(16) + AES-CBC(PKCS#7), aesgcm is nonce(12) + AES-GCM with the
storage key as additional data, secretbox is nonce(24) + NaCl secretbox.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM as _AESGCM

from kubelite.store.interface import StoreError

ENCRYPTED_PREFIX = b"k8s:enc:"
AES_KEY_SIZES = (16, 24, 32)
SECRETBOX_KEY_SIZE = 32


class TransformError(StoreError):
    """A stored value could not be decrypted (wrong key, no matching prefix, corrupt bytes)."""


class Transformer(Protocol):
    def to_storage(self, data: bytes, key: str) -> bytes: ...

    def from_storage(self, data: bytes, key: str) -> bytes: ...


class Identity:
    """Plain bytes; refuses to pass encrypted bytes off as plain ones."""

    def to_storage(self, data: bytes, key: str) -> bytes:
        return data

    def from_storage(self, data: bytes, key: str) -> bytes:
        if data.startswith(ENCRYPTED_PREFIX):
            raise TransformError("identity transformer tried to read encrypted data")
        return data


class AesCbc:
    def __init__(self, secret: bytes) -> None:
        self._algorithm = algorithms.AES(secret)

    def to_storage(self, data: bytes, key: str) -> bytes:
        iv = os.urandom(16)
        padder = padding.PKCS7(128).padder()
        padded = padder.update(data) + padder.finalize()
        encryptor = Cipher(self._algorithm, modes.CBC(iv)).encryptor()
        return iv + encryptor.update(padded) + encryptor.finalize()

    def from_storage(self, data: bytes, key: str) -> bytes:
        if len(data) < 32 or len(data) % 16:
            raise TransformError("the stored data is not a multiple of the block size")
        decryptor = Cipher(self._algorithm, modes.CBC(data[:16])).decryptor()
        padded = decryptor.update(data[16:]) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        try:
            return unpadder.update(padded) + unpadder.finalize()
        except ValueError:
            raise TransformError("invalid padding on input") from None


class AesGcm:
    def __init__(self, secret: bytes) -> None:
        self._aead = _AESGCM(secret)

    def to_storage(self, data: bytes, key: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, data, key.encode())

    def from_storage(self, data: bytes, key: str) -> bytes:
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(data[:12], data[12:], key.encode())
        except (InvalidTag, ValueError):
            raise TransformError("cipher: message authentication failed") from None


class Secretbox:
    """XSalsa20-Poly1305 through PyNaCl, which kubelite does not depend on: the provider works
    where PyNaCl is installed and is refused with a clear message elsewhere."""

    def __init__(self, secret: bytes) -> None:
        try:
            from nacl.secret import SecretBox  # type: ignore[import-not-found]
        except ImportError:
            raise ValueError("the secretbox provider needs PyNaCl (pip install pynacl); "
                             "use aescbc or aesgcm instead") from None
        self._box = SecretBox(secret)

    def to_storage(self, data: bytes, key: str) -> bytes:
        return bytes(self._box.encrypt(data))  # nonce(24) + box

    def from_storage(self, data: bytes, key: str) -> bytes:
        from nacl.exceptions import CryptoError  # type: ignore[import-not-found]

        try:
            return bytes(self._box.decrypt(data))
        except CryptoError:
            raise TransformError("output array too small or decryption failed") from None


@dataclass(frozen=True)
class Prefixed:
    """One key of one provider: the prefix it writes and the transformer behind it."""

    prefix: bytes
    transformer: Transformer
    provider: str  # "aescbc", "aesgcm", "secretbox", "identity"
    key_name: str = ""


class PrefixTransformers:
    """A resource's providers in order: the first writes, every one reads what it wrote
    (k8s' prefixTransformers)."""

    def __init__(self, providers: list[Prefixed]) -> None:
        if not providers:
            raise ValueError("no providers")
        self.providers = providers
        self.writer = providers[0]

    def to_storage(self, data: bytes, key: str) -> bytes:
        return self.writer.prefix + self.writer.transformer.to_storage(data, key)

    def from_storage(self, data: bytes, key: str) -> bytes:
        for p in self.providers:
            if data.startswith(p.prefix):
                try:
                    return p.transformer.from_storage(data[len(p.prefix):], key)
                except TransformError:
                    if not p.prefix:  # identity ahead of a key: try the keys after it
                        continue
                    raise
        raise TransformError("no matching prefix found")

    def is_current(self, data: bytes) -> bool:
        """Whether `data` was written by the provider that writes now (no re-encryption due)."""
        if self.writer.prefix:
            return data.startswith(self.writer.prefix)
        return not data.startswith(ENCRYPTED_PREFIX)
