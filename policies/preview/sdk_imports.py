"""Import provider SDK packages one resource module at a time.

A generated Pulumi SDK package's ``__init__`` star-imports every resource and function module of the package:
``pulumi_azure_native.network`` executes 290 modules (~0.8 s) for the handful of types a program uses, and
importing the single module ``pulumi_azure_native.network.virtual_network`` runs that ``__init__`` too (the
SDK's lazy loading defers it only until the first attribute access, which ``from . import outputs`` inside the
resource module makes). Once ``install()`` has run, SDK packages are created *shallow*: the ``__init__`` does not
run, and each name the program looks up (``network.VirtualNetwork``, ``from pulumi_kubernetes.core.v1 import
Namespace``) is taken from the one module that defines it (``virtual_network.py``, ``Namespace.py``, or
``_inputs.py``/``_enums.py`` for ``Args`` classes and enums). Anything that cannot be placed that way (``dir()``,
``import *``, a name no module is named after) runs the package's ``__init__`` after all, so lookups give what
the full package gives; only the import cost differs. The offline preview installs it (``runner.run_under_mocks``).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import re
import sys
import threading
import types
from collections.abc import Sequence
from typing import Any

_LOCK = threading.RLock()
_LOADING: set[str] = set()
_INPUTS = "_inputs"
_ENUMS = "_enums"


def install() -> None:
    """Make provider SDK packages shallow from now on in this process (idempotent)."""
    with _LOCK:
        if not any(isinstance(finder, _ShallowFinder) for finder in sys.meta_path):
            sys.meta_path.insert(0, _ShallowFinder())
        for name, module in list(sys.modules.items()):
            if _is_sdk_package(name, module) and type(module).__name__ == "_LazyModule":
                module.__class__ = _ShallowPackage  # a lazy package not loaded yet: the loader is the real one


def _is_sdk_root(root: str) -> bool:
    """Generated provider SDKs (pulumi_aws, pulumi_azure_native, pulumi_kubernetes, ...) carry ``_utilities``."""
    return root.startswith("pulumi_") and f"{root}._utilities" in sys.modules


def _is_sdk_package(name: str, module: Any) -> bool:
    root, _, rest = name.partition(".")
    return bool(rest) and _is_sdk_root(root) and getattr(module, "__path__", None) is not None


def _snake_case(name: str) -> str:
    """``VirtualNetwork`` -> ``virtual_network``, ``BucketV2`` -> ``bucket_v2``: the SDKs' module file names."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _submodule(package: types.ModuleType, name: str) -> types.ModuleType | None:
    full_name = f"{package.__name__}.{name}"
    if full_name not in sys.modules and importlib.machinery.PathFinder.find_spec(full_name, package.__path__) is None:
        return None
    return importlib.import_module(full_name)


def _load_fully(package: types.ModuleType) -> None:
    """Run the package's own ``__init__`` in place, as a plain import would have, once.

    The package stays shallow while its ``__init__`` runs, so another thread's lookup meanwhile still resolves
    (or waits here) rather than meeting a half-initialised plain module. Only this step takes the lock: the
    imports it runs may wait on module locks, and the SDK modules never need a whole package while imported.
    """
    with _LOCK:
        if type(package) is not _ShallowPackage or package.__name__ in _LOADING:
            return  # loaded, or being loaded by this thread: lookups see what is bound so far, as in any import
        _LOADING.add(package.__name__)
        try:
            spec = package.__spec__
            assert spec is not None and spec.loader is not None, package.__name__
            spec.loader.exec_module(package)
            if type(package) is _ShallowPackage:  # the __init__ may set a class of its own (config: lazy settings)
                package.__class__ = types.ModuleType  # type: ignore[assignment]
        finally:
            _LOADING.discard(package.__name__)


def _resolve(package: types.ModuleType, name: str) -> Any:
    """What the package's ``__init__`` would bind to ``name``, from the one module that defines it if possible.

    The ``__init__`` star-imports ``_enums``, then every resource and function module, then ``_inputs``, and
    imports ``outputs``; the last module exporting a name wins. A resource ``VirtualNetwork`` is defined in
    ``virtual_network.py`` (pulumi_kubernetes: ``Namespace.py``) with its ``VirtualNetworkArgs`` (or ``InitArgs``),
    an invoke ``get_x``/``get_x_output`` in ``get_x.py``. Anything else runs the ``__init__`` after all.
    """
    if not name.startswith("__"):
        if name == "outputs" or name.startswith("_"):
            module = _submodule(package, name)
            if module is not None:
                return module
        else:
            inputs = _submodule(package, _INPUTS)
            if inputs is not None and name in _exports(inputs):
                return _bind(package, name, inputs)
            for candidate in _defining_modules(name):
                module = _submodule(package, candidate)
                if module is None:
                    continue
                if hasattr(module, "__path__"):
                    return module  # a sub-package (pulumi_kubernetes.core.v1), shallow in turn
                if name in _exports(module):
                    return _bind(package, name, module)
            enums = _submodule(package, _ENUMS)
            if enums is not None and name in _exports(enums):
                return _bind(package, name, enums)
    _load_fully(package)
    if type(package) is not types.ModuleType and type(package) is not _ShallowPackage:
        return getattr(package, name)  # the package's own module class (pulumi_aws.config: its settings)
    return types.ModuleType.__getattribute__(package, name)  # not __getattr__ again: AttributeError if unbound


def _defining_modules(name: str) -> dict[str, None]:
    """Module names that may define ``name``: itself, snake-cased, or that of the resource or invoke it serves."""
    resource = re.sub(r"(Init)?Args$", "", name)
    return dict.fromkeys((name, _snake_case(name), resource, _snake_case(resource), name.removesuffix("_output")))


def _exports(module: types.ModuleType) -> Sequence[str]:
    return getattr(module, "__all__", ())


def _bind(package: types.ModuleType, name: str, module: types.ModuleType) -> Any:
    value = getattr(module, name)
    types.ModuleType.__setattr__(package, name, value)
    return value


class _ShallowPackage(types.ModuleType):
    """An SDK package whose ``__init__`` has not run; names are resolved one defining module at a time."""

    def __getattribute__(self, name: str) -> Any:
        value = super().__getattribute__(name)
        if _is_bound_resource_module(self, name, value):
            # The import system binds each imported submodule on its package: in pulumi_kubernetes the module
            # `core.v1.Namespace` then stands where the package exports the class `Namespace`.
            return _resolve(self, name)
        return value

    def __getattr__(self, name: str) -> Any:
        return _resolve(self, name)

    def __dir__(self) -> list[str]:
        _load_fully(self)
        return list(types.ModuleType.__dir__(self))


def _is_bound_resource_module(package: types.ModuleType, name: str, value: Any) -> bool:
    return (
        isinstance(value, types.ModuleType)
        and name != "outputs"
        and not name.startswith("_")
        and value.__name__ == f"{package.__name__}.{name}"
        and not hasattr(value, "__path__")
    )


class _ShallowLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__spec__.loader = self.loader  # type: ignore[union-attr]  # a full load later runs the real __init__
        module.__loader__ = self.loader
        module.__class__ = _ShallowPackage


class _ShallowFinder(importlib.abc.MetaPathFinder):
    """Finds SDK sub-packages as usual, but hands them out shallow (modules load as usual)."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        root, _, rest = fullname.partition(".")
        if not rest or not _is_sdk_root(root):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.submodule_search_locations is None or spec.loader is None:
            return None
        spec.loader = _ShallowLoader(spec.loader)
        return spec
