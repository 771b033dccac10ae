"""The sections of issue #7 (and 6, issue #15's; 7, issue #16's; 8, issue #17's; 9 and 10, issue #18's), in the
order they run and print.
Each module's docstring says what it measures."""
from __future__ import annotations

from typing import Callable

from ..bench import Bench
from .concurrent import section_2
from .download import section_10
from .flood import section_7
from .handshakes import section_3
from .idle_sessions import section_4
from .key_exchange_groups import section_5b
from .listing import section_9
from .resume import section_6
from .rotation import section_5a
from .small_files import section_8
from .upload import section_1

SECTIONS: dict[str, tuple[Callable[[Bench], None], bool]] = {  # name -> (function, needs ferry loadtest)
    "1": (section_1, False), "2": (section_2, False), "3": (section_3, True), "4": (section_4, True),
    "5a": (section_5a, False), "5b": (section_5b, True), "6": (section_6, False),
    "7": (section_7, False), "8": (section_8, False), "9": (section_9, False),
    "10": (section_10, False),
}
