"""SO100 arm support: STS3215 control table, Feetech protocol, servo bus emulator."""
