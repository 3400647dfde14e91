// Command cookieseal is the operator's tool for cookieseal key sets and
// revocation lists: it makes key set files, steps keys through their
// lifecycle with the guards of package rotate, opens a cookie value for
// debugging, and forces logout through a fleet's Redis revocation list.
//
//	cookieseal keygen -out FILE [-epoch 24h] [-idle-timeout 24h] [-absolute-timeout 168h] [-clock-skew 30s] [-rollout-delay 1h] [-force] [-json]
//	cookieseal keys list (-file FILE | -env NAME) [-json]
//	cookieseal keys add -file FILE [-json]
//	cookieseal keys promote -file FILE -id N [-emergency] [-json]
//	cookieseal keys demote -file FILE -id N [-emergency] [-json]
//	cookieseal keys disable|remove -file FILE -id N [-emergency] [-json]
//	cookieseal keys enable -file FILE -id N [-json]
//	cookieseal keys emergency-replace -file FILE -id LEAKED [-json]
//	cookieseal keys import (-file FILE | -env NAME) -out NEW [-idle-timeout D] [-absolute-timeout D] [-clock-skew D] [-rollout-delay D] [-force] [-json]
//	cookieseal keys export-env (-file FILE | -env NAME) -i-know-this-prints-secrets
//	cookieseal keys policy [show] (-file FILE | -env NAME) [-json]
//	cookieseal keys policy set -file FILE [-idle-timeout D] [-absolute-timeout D] [-clock-skew D] [-rollout-delay D] [-allow-shorter] [-json]
//	cookieseal keys export-jwks (-file FILE | -env NAME) -name COOKIE (-out FILE [-force] | -i-know-this-prints-secrets)
//	cookieseal inspect (-file FILE | -env NAME) [-name COOKIE] < VALUE
//	cookieseal revoke subject -redis ADDR[,ADDR...] (-file FILE | -env NAME) -subject S [-at T]
//	cookieseal revoke session -redis ADDR[,ADDR...] -id ID [-subject S] (-until T | -file FILE | -env NAME)
//	cookieseal version [-json]
//	cookieseal help [COMMAND [STEP]]
//
// # Key set files
//
// Key set files are written atomically (a temporary file in the same
// directory, synced, then renamed), with mode 0600 for a new file. Every
// step that edits a file holds an advisory lock (flock on FILE.lock, an
// empty file left beside it) from its read to its rename, so two
// commands run at once both take effect, one after the other; where the
// system has no flock (Windows, Plan 9, AIX, Solaris) a change made
// between the read and the write is still detected and refused, but two
// writes in the same instant can lose one. A FILE that is a symbolic
// link is edited where it points: the link stays, and the lock and the
// temporary file sit beside the target. So that whoever can write FILE's
// directory cannot turn a command run by root or by another user against
// a file elsewhere, a command refuses ("unsafe key file", exit status 1,
// nothing changed) a FILE or FILE.lock that is a fifo, a directory or
// (FILE.lock) a link, and a link on the way to FILE that another user
// can have planted or re-pointed: one not owned by root or the user
// running the command, or in a directory that someone else can write
// (see rotate.WriteKeyFile). Key material reaches standard
// output only from keygen -out -, keys export-env and keys export-jwks
// -i-know-this-prints-secrets, which say so on standard error; keys
// export-jwks -out writes a new file of mode 0600 instead (-force
// replaces one, through a temporary file of mode 0600).
//
// The commands that only read keys (keys list, keys import, keys
// export-env, keys export-jwks, inspect) take them in every form the library reads: a key
// set file, or the one-line form of $COOKIESEAL_KEYS
// ("id:status:secret,…"), from -file or from the environment variable
// named by -env. The steps that change keys edit a key set file only,
// since the one-line form records none of the dates the guards need;
// they refuse the one-line form, and keys import makes a key set file of
// it, dating its keys cautiously (added now; a decrypt-only key demoted
// now).
//
// # Key steps
//
// Every step prints what it did and what comes next, never a secret; with
// -json it prints an object instead, with the ID of the key it made or
// changed in "key_id", that key's dates and guards in "key", the primary
// in "primary_id", the old primary in "demoted" after a promotion, and
// the key taken out in "removed_id".
//
// The guards are package rotate's, and each counts from the step that
// made the key usable: promote (and demote) wait the rollout delay after
// add or after enable, since an instance still holding the key disabled
// would reject every cookie it seals; keys enable records its time in
// the key's "added" date for that reason, and keys list shows an enabled
// key as rolling out again. remove and disable wait until no cookie
// sealed under the key can be valid: the rollout delay + the absolute
// timeout + the clock skew after its demotion. -emergency turns a guard
// off for a leaked key, and emergency-replace removes a leaked key and
// replaces it in one write.
//
// # Lifetime policy
//
// The guards' durations, and the session managers' timeouts and skew,
// are the lifetime policy recorded in the key set (keyring.Lifetime):
// keygen records it from -idle-timeout, -absolute-timeout, -clock-skew
// and -rollout-delay (defaults 24h, 168h, 30s, 1h), keys import from the
// source or the same flags, and keys policy set changes it (a shorter
// -absolute-timeout, -clock-skew or -rollout-delay only with
// -allow-shorter). No other
// command takes a lifetime flag: every command reads the policy from the
// key set it is given, and every time a command prints (keys add, list,
// promote, remove and their refusals) comes from the one guards
// computation of package rotate (Policy.Resolve), so they agree. A key
// set file from before the policy (version 1) keeps working with the
// defaults; keys list and keys policy say so. The environment variables
// COOKIESEAL_ROLLOUT_DELAY, COOKIESEAL_MAX_SESSION_AGE and
// COOKIESEAL_CLOCK_SKEW are no longer read: a command refuses to run
// while one is set, and says which keys policy set records its value.
//
// # Inspect
//
// inspect reads the cookie from standard input, a bare value or a whole
// Cookie header (chunk cookies NAME.0, NAME.1, … are joined), in either
// format (native or JWE: the value's first bytes tell which). It warns
// on standard error that it handles secrets. It prints the format,
// header and payload of an authentic value as JSON; for an expired one it
// says so and still shows them; for anything else it shows only the
// error. Its expiry rule is the key set's recorded lifetime policy, as a
// session manager that leaves its timeouts zero applies it. A
// value given with -value would sit on the command line, where every
// user of the host sees it in the process list and the shell keeps it in
// its history: -value is refused unless -insecure-value-in-argv accepts
// that risk, and then warned about.
//
// # JWK set
//
// keys export-jwks gives a Python or Node.js service what it needs to
// read and write the JWE sessions (middleware.Options{Format: cookie.JWE})
// of one cookie: a JSON Web Key Set of the keys derived for the cookie's
// name from every enabled key, each with the "kid" its sessions carry,
// and with epoch keys one per epoch still accepted, which the lifetime
// policy the key set records (absolute timeout, clock skew) decides. The set
// decrypts and forges every session of that cookie: by default it goes
// nowhere, -out FILE writes it to a new file of mode 0600 and
// -i-know-this-prints-secrets prints it, for a pipe into a secret store.
// Keys are read from -file or -env, never from an argument. The set does
// not say which key is primary; the command says it, for a writer. Export
// it again after every rotation step, and with epoch keys at least once
// per epoch period.
//
// # Revoke
//
// revoke writes to the revocation list of package revoke/redis, which
// every instance of the fleet checks (the flags -sentinel-master, -prefix,
// -tls and -timeout, 5s by default, say how to reach it), and -file or
// -env the fleet's key set, whose recorded lifetime policy says how long
// an entry lasts. revoke subject logs a user out everywhere: every
// session of the subject issued before now, or before -at, is rejected
// until the absolute timeout plus twice the clock skew plus a second
// after that time, when every instance refuses all of them anyway (the
// session manager's rule). revoke session revokes one session id until
// -until, or until now + absolute timeout + 2 × clock skew + 1s; give
// the -subject the session carries (inspect shows it), since an entry
// is matched on the pair. The Redis password comes from
// $COOKIESEAL_REDIS_PASSWORD and an ACL user from
// $COOKIESEAL_REDIS_USERNAME, never from a flag. An entry is never
// weakened by a later one, so a revoke that failed or timed out may be
// run again.
//
// # Help, version and exit status
//
// Help asked for (-h, -help, --help, a lone help argument, or cookieseal
// help COMMAND [STEP]) prints on standard output with exit status 0, for
// a group (keys, revoke) as for a step. A usage error prints the error
// and the usage on standard error. version prints the module version the
// Go toolchain recorded in the binary (a tag such as v1.2.0 after go
// install, a pseudo-version from a checkout's VCS state), "(devel)" when
// none was recorded, and the Go version.
//
// Exit status: 0 on success, 1 when the step failed or was refused (for
// revoke, also when Redis could not be reached in time),
// 2 for a usage error, and 3 when inspect finds an authentic but expired
// value.
package main
