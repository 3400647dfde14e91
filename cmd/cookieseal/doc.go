// Command cookieseal is the operator's tool for cookieseal key sets and
// revocation lists: it makes key set files, steps keys through their
// lifecycle with the guards of package rotate, opens a cookie value for
// debugging, and forces logout through a fleet's Redis revocation list.
//
//	cookieseal keygen -out FILE [-epoch 24h] [-force]
//	cookieseal keys list -file FILE [-json]
//	cookieseal keys add -file FILE
//	cookieseal keys promote -file FILE -id N [-rollout-delay 1h] [-emergency]
//	cookieseal keys demote -file FILE -id N [-rollout-delay 1h] [-emergency]
//	cookieseal keys disable|remove -file FILE -id N [-max-session-age 168h] [-emergency]
//	cookieseal keys enable -file FILE -id N
//	cookieseal keys emergency-replace -file FILE -id LEAKED
//	cookieseal keys export-env -file FILE -i-know-this-prints-secrets
//	cookieseal inspect -file FILE -name COOKIE [-value V]
//	cookieseal revoke subject -redis ADDR[,ADDR...] -subject S [-at T] [-max-session-age 168h]
//	cookieseal revoke session -redis ADDR[,ADDR...] -id ID [-subject S] [-until T | -max-session-age 168h]
//
// Key set files are written atomically (a temporary file in the same
// directory, synced, then renamed), with mode 0600 for a new file. Key
// material reaches standard output only from keygen -out - and from
// keys export-env, which says so on standard error.
//
// Every step prints what it did and what comes next, never a secret.
// The guards are package rotate's: promote waits -rollout-delay after
// add, and remove and disable wait until no cookie sealed under the key
// can be valid. -emergency turns a guard off for a leaked key, and
// emergency-replace removes a leaked key and replaces it in one write.
// The guards' durations default to $COOKIESEAL_ROLLOUT_DELAY,
// $COOKIESEAL_MAX_SESSION_AGE and $COOKIESEAL_CLOCK_SKEW when set (else
// 1h, 168h and 30s); set them once for a fleet whose sessions live longer
// than seven days, or every removal could come too soon.
//
// inspect warns on standard error that it handles secrets. It prints the
// header and payload of an authentic value as JSON; for an expired one it
// says so and still shows them; for anything else it shows only the
// error. Pass the value on standard input (a bare value or a whole Cookie
// header) rather than with -value, which other users can see in the
// process list.
//
// revoke writes to the revocation list of package revoke/redis, which
// every instance of the fleet checks (the flags -sentinel-master, -prefix,
// -tls and -timeout, 5s by default, say how to reach it). revoke subject
// logs a user out everywhere: every session of the subject issued before
// now, or before -at, is rejected until -max-session-age plus -skew after
// that time, when all of them have expired anyway. revoke session revokes
// one session id until -until, or until now + -max-session-age + -skew;
// give the -subject the session carries (inspect shows it), since an
// entry is matched on the pair. -max-session-age must be at least the
// fleet's AbsoluteTimeout. The Redis password comes from
// $COOKIESEAL_REDIS_PASSWORD and an ACL user from
// $COOKIESEAL_REDIS_USERNAME, never from a flag. An entry is never
// weakened by a later one, so a revoke that failed or timed out may be
// run again.
//
// Exit status: 0 on success, 1 when the step failed or was refused (for
// revoke, also when Redis could not be reached in time),
// 2 for a usage error, and 3 when inspect finds an authentic but expired
// value.
package main
