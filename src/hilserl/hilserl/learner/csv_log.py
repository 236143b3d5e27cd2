"""
One CSV file of a run, appended a flushed row at a time and continued on resume; no ROS.

:class:`CsvLog` keeps the rows in memory too (the running averages and plots of
:mod:`hilserl.learner.monitoring` read them back); a file cut short by a crash loses only its
unfinished last row, and a row with a new column widens the header once.
"""

import csv
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence


def as_number(value: Any) -> Optional[float]:
    """Return ``value`` as a finite-or-not float, or None when it is not a number."""
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class CsvLog:
    """
    One CSV file, appended a flushed row at a time, its rows also kept in memory.

    An existing file is continued: its header and rows are read back (a last row
    cut short by a crash is dropped). A row with a column the header lacks rewrites
    the file once with the wider header (atomically), older rows left blank there.
    """

    def __init__(self, path: str, columns: Sequence[str]):
        """Open ``path``, continuing it when it exists, else with ``columns`` as header."""
        self.path = path
        self.columns: List[str] = list(columns)
        self.rows: List[Dict[str, Any]] = []
        if os.path.isfile(path) and os.path.getsize(path) > 0:
            self._read_existing()
            self._file = open(path, 'a', newline='')
        else:
            self._file = open(path, 'w', newline='')
            self._writer().writeheader()
            self._file.flush()

    def _read_existing(self) -> None:
        with open(self.path, 'rb') as raw:
            data = raw.read()
        complete = data[:data.rfind(b'\n') + 1]
        if len(complete) != len(data):  # a row cut short by a crash
            with open(self.path, 'r+b') as raw:
                raw.truncate(len(complete))
        reader = csv.DictReader(complete.decode('utf-8').splitlines())
        header = list(reader.fieldnames or [])
        self.columns = header + [c for c in self.columns if c not in header]
        self.rows = [{key: _parse(value) for key, value in row.items() if key in header}
                     for row in reader]
        if self.columns != header:
            self._rewrite()

    def _writer(self) -> csv.DictWriter:
        return csv.DictWriter(self._file, fieldnames=self.columns, restval='',
                              extrasaction='ignore')

    def _rewrite(self) -> None:
        temporary = self.path + '.tmp'
        with open(temporary, 'w', newline='') as file:
            writer = csv.DictWriter(file, fieldnames=self.columns, restval='')
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(temporary, self.path)

    def append(self, row: Mapping[str, Any]) -> None:
        """Write ``row`` (a dict by column) and flush it to disk."""
        row = dict(row)
        self.rows.append(row)
        new_columns = [key for key in row if key not in self.columns]
        if new_columns:
            self._file.close()
            self.columns.extend(new_columns)
            self._rewrite()
            self._file = open(self.path, 'a', newline='')
        else:
            self._writer().writerow(row)
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def _parse(text: Optional[str]) -> Any:
    """Return a CSV cell as a number where it is one, else as the text."""
    if text is None or text == '':
        return None
    value = as_number(text)
    if value is None:
        return text
    return int(value) if value.is_integer() and text.lstrip('-').isdigit() else value
