"""Software version of the simulation engine (recorded in every manifest)."""

SOFTWARE_VERSION = "0.2.0"
