"""Self-checks for the exercises in ``exercises/``: they name the mistake.

Every task of the exercise notebooks has one function ``check_<task>(student_fn)``.
It calls the student's function on many inputs (hand-picked edge cases and seeded
random ones) and either prints one success line and returns ``None``, or raises
:class:`CheckFailed` (a subclass of :class:`AssertionError`) whose message

- says *what* is wrong when the answer matches a known mistake (arguments of the
  KL swapped, variance used where the standard deviation is meant, a determinant
  where a trace belongs, a sign error, ...), found by computing each wrong variant
  here and comparing it with the student's outputs on every input;
- otherwise shows one failing input with the expected and the received value.

A check survives anything the student's code does: ``NotImplementedError``
("not implemented yet"), any other exception, ``None``, NaN, a wrong type or
shape.

The package is organised by concept (see ``README.md`` beside this file):
``_core`` holds the shared machinery (:func:`run_check`, :class:`Mistake`, ...);
one module per chapter holds that chapter's checks (``recap`` 01, ``kl`` 02,
``elbo`` 03, ``mean_field`` 04, ``alpha`` 05, ``gradients`` 06,
``worked_examples`` 07). The reference answer is the course library's own
function wherever it has one; private code here computes only the wrong variants
and the answers the library has no function for.
"""

from __future__ import annotations

import importlib
import pkgutil

from ._core import CheckFailed

__all__: list[str] = []

# Every public module of this package is a topic: import it and re-export its
# ``__all__`` (the ``check_<task>`` functions). A new chapter adds a module and
# edits nothing here.
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.startswith("_") or _info.name == "grade":
        continue
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    for _name in _module.__all__:
        if _name in globals() and globals()[_name] is not getattr(_module, _name):
            raise ImportError(f"vi_lib.checks: {_name} is defined by two topic modules")
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
del _info, _module, _name
