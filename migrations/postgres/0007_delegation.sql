-- Issue 9: delegated administration. Every role has a scope (D8): which users its holders
-- reach. `account` (all of them), `desks` (users sharing a desk with the holder), `company`
-- (end users of the holder's company, R40), `self` (only the holder). Custom roles made before
-- scopes existed keep reaching the whole account; the built-in Supervisor sees its desks.
ALTER TABLE roles ADD COLUMN scope TEXT NOT NULL DEFAULT 'account';
UPDATE roles SET scope = 'desks' WHERE builtin = 'supervisor';
UPDATE roles SET scope = 'self' WHERE builtin = 'agent';
