//! Statistics: see the submodules.
