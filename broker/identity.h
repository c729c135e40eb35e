/*
 * Who a client is, from its impersonation token, never from its pid
 * (SECURITY-NOTES T7, T8).
 *
 * After the broker has read the client's first frame it impersonates the
 * client on the pipe, checks that the token allows impersonation (an
 * identification or anonymous token is refused: it cannot become a usable
 * primary token and says nothing the broker may act on), reads the user,
 * logon session, Windows session and integrity level from it, makes a
 * primary token of it when children must run as the client (service mode),
 * and reverts, on every path. In pull mode the client process is opened
 * while impersonating, so the kernel's access check is the client's own,
 * and then checked against the token and the connection to defeat pid
 * reuse.
 *
 * Helpers are pooled per identity key: user SID, logon session, Windows
 * session, integrity level and AppContainer-ness. Two clients share helpers
 * only when all of these are equal (T4).
 */
#ifndef SB_BROKER_IDENTITY_H
#define SB_BROKER_IDENTITY_H

#include <stdbool.h>
#include <windows.h>

#define SB__IDENTITY_KEY_BYTES 320
#define SB__SID_TEXT_BYTES 192

typedef struct sb__identity {
  char key[SB__IDENTITY_KEY_BYTES]; /* helpers are pooled by it */
  char user_sid[SB__SID_TEXT_BYTES];
  LUID logon;          /* the token's AuthenticationId */
  DWORD session;       /* Windows session */
  DWORD integrity;     /* integrity level RID (0x2000 medium, ...) */
  bool app_container;
  bool same_user;      /* the token's user is the broker's own user */
  /* A primary token for helpers and children, made only when asked (service
   * mode); NULL otherwise. Owned: sb__identity_free closes it. */
  HANDLE primary;
} sb__identity;

/*
 * Reads the identity of the client at the other end of `pipe` (a server
 * end from which at least one frame was read). With want_primary, also
 * makes the primary token. With open_pid != 0 (pull mode), also opens the
 * client process while impersonating, for PROCESS_DUP_HANDLE and
 * PROCESS_QUERY_LIMITED_INFORMATION, into *process (NULL when the open is
 * refused, which is not an error: the caller may fall back to push), and
 * checks it (sb__identity_check_process). Always reverts before returning.
 * Returns 0, SB_E_ACCESS_DENIED (no usable impersonation, a refused level,
 * a process that is not the one that connected) or SB_E_NOMEM; detail says
 * why in words.
 */
int sb__identity_from_pipe(HANDLE pipe, bool want_primary, DWORD open_pid,
                           const FILETIME *connected_at, sb__identity *out, HANDLE *process,
                           char *detail, size_t cap);

/*
 * Whether `process` (pid `pid`) is the client at the other end of `pipe`:
 * its token's user and session are the identity's, it was created before
 * the connection was made (connected_at), and the pipe still reports the
 * same client pid now that the process is open (an open handle pins the
 * pid, so it cannot be reused any more). Returns 0 or SB_E_ACCESS_DENIED.
 */
int sb__identity_check_process(const sb__identity *id, HANDLE pipe, HANDLE process, DWORD pid,
                               const FILETIME *connected_at, char *detail, size_t cap);

/* The identity an impersonation token gives, with its level checked
 * (everything sb__identity_from_pipe does with the token it opens). */
int sb__identity_from_token(HANDLE token, sb__identity *out, char *detail, size_t cap);

/* The broker's own identity, from its process token (no primary token is
 * made: the broker's own is used). */
int sb__identity_of_self(sb__identity *out);

void sb__identity_free(sb__identity *id);

/* The broker process's own user SID as text (cached after the first call). */
const char *sb__identity_self_sid(void);

#endif
