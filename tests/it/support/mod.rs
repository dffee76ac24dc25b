//! Test support: the throwaway cluster and helpers.
