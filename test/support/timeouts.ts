// Integration tests drive real servers and sandboxes on a small machine.
jest.setTimeout(120_000);
