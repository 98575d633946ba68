"""The audit log as a sequenced, verifiable log: canonical encoding, Merkle tree, signed
checkpoints, sealing, verification, proofs, queries and export. No Slack here."""
