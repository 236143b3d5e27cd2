"""
Terminal bytes to key names, without ROS.

A terminal in cbreak mode sends printable keys as themselves and special keys
as escape sequences: ``ESC [ A`` (up), ``ESC [ 5 ~`` (Page Up), ``ESC O A`` in
application mode. A lone Escape key is the same ESC byte with nothing after it,
so a pending ESC becomes the ``esc`` key only once ``esc_timeout_s`` passes
without the rest of a sequence (terminals send a sequence in one write, well
within a few milliseconds).

Key names: single printable characters as themselves (``'s'``, ``'S'``,
``'+'``), and ``space``, ``enter``, ``tab``, ``backspace``, ``esc``, ``up``,
``down``, ``left``, ``right``, ``page_up``, ``page_down``, ``home``, ``end``,
``insert``, ``delete``, ``ctrl_a`` .. ``ctrl_z``.
"""

import string
from typing import List, Optional

ESC = 0x1B
# Final byte of CSI (ESC [) and SS3 (ESC O) sequences -> key; modifiers are ignored.
_FINAL_LETTERS = {'A': 'up', 'B': 'down', 'C': 'right', 'D': 'left', 'H': 'home', 'F': 'end'}
# ESC [ <number> ~ -> key.
_TILDE_NUMBERS = {'1': 'home', '2': 'insert', '3': 'delete', '4': 'end', '5': 'page_up',
                  '6': 'page_down', '7': 'home', '8': 'end'}
_CONTROL = {0x09: 'tab', 0x0A: 'enter', 0x0D: 'enter', 0x20: 'space', 0x7F: 'backspace',
            0x08: 'backspace'}
_PRINTABLE = set(string.ascii_letters + string.digits + string.punctuation)

SPECIAL_KEYS = frozenset([*_FINAL_LETTERS.values(), *_TILDE_NUMBERS.values(),
                          *_CONTROL.values(), 'esc',
                          *(f'ctrl_{letter}' for letter in string.ascii_lowercase)])


def valid_key(name: str) -> bool:
    """Return whether ``name`` is a key name the decoder can produce."""
    return name in SPECIAL_KEYS or (len(name) == 1 and name in _PRINTABLE)


class KeyDecoder:
    """Turn bytes read from a terminal into key names; see the module docstring."""

    def __init__(self, esc_timeout_s: float = 0.05):
        """Wait ``esc_timeout_s`` after a lone ESC before calling it the Escape key."""
        if esc_timeout_s <= 0:
            raise ValueError(f'esc_timeout_s must be positive, got {esc_timeout_s}')
        self.esc_timeout_s = esc_timeout_s
        self._pending = bytearray()
        self._pending_since: Optional[float] = None

    def feed(self, data: bytes, now: float) -> List[str]:
        """Take bytes read at time ``now``; return the keys they complete."""
        keys = self.flush(now)
        if data and not self._pending:
            self._pending_since = now
        self._pending += data
        while self._pending:
            consumed, key = self._parse(bytes(self._pending))
            if consumed == 0:
                break  # an incomplete escape sequence: wait for more, or the timeout
            del self._pending[:consumed]
            if key is not None:
                keys.append(key)
            self._pending_since = now
        return keys

    def flush(self, now: float) -> List[str]:
        """Return ``esc`` when a lone ESC has waited past the timeout (call it often)."""
        if not self._pending or now - self._pending_since < self.esc_timeout_s:
            return []
        lone_escape = bytes(self._pending) == bytes([ESC])
        self._pending.clear()  # a truncated sequence is dropped
        return ['esc'] if lone_escape else []

    @staticmethod
    def _parse(data: bytes):
        """Return ``(bytes consumed, key or None)``; 0 consumed means incomplete."""
        first = data[0]
        if first != ESC:
            if first in _CONTROL:
                return 1, _CONTROL[first]
            if 1 <= first <= 26:
                return 1, f'ctrl_{chr(ord("a") + first - 1)}'
            char = chr(first)
            return 1, (char if char in _PRINTABLE else None)
        if len(data) == 1:
            return 0, None
        introducer = chr(data[1])
        if introducer == 'O':  # SS3: one final byte
            if len(data) < 3:
                return 0, None
            return 3, _FINAL_LETTERS.get(chr(data[2]))
        if introducer != '[':
            return 1, 'esc'  # Escape then another key (or Alt+key): both count
        for end in range(2, len(data)):
            byte = data[end]
            if 0x40 <= byte <= 0x7E:  # CSI final byte
                final, parameters = chr(byte), data[2:end].decode('ascii', 'replace')
                if final == '~':
                    return end + 1, _TILDE_NUMBERS.get(parameters.split(';')[0])
                return end + 1, _FINAL_LETTERS.get(final)
        return 0, None
