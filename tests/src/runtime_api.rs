//! An emulator of the AWS Lambda Runtime API, to run the real function binaries on loopback.
