/*
 * The strings a child is created with, computed from its request alone:
 * the arguments with "{handle:NAME}" placeholders expanded, the command
 * line, the handles variable, and the environment block. This is the part
 * of a spawn (spawn.c, step 3) that makes no system call, so it builds
 * natively too, where tests/fuzz/fuzz_spawn.c runs it on every request the
 * decoder accepts.
 */
#ifndef SB_BROKER_CHILD_STRINGS_H
#define SB_BROKER_CHILD_STRINGS_H

#include <stddef.h>

#include "sb_proto.h"
#include "utf.h"

typedef struct sb__child_strings {
  sb__wchar *cmdline; /* for CreateProcessW: malloc'd and writable */
  sb__wchar *env;     /* a CREATE_UNICODE_ENVIRONMENT block, malloc'd */
  size_t env_chars;   /* units of env, both final NULs included */
} sb__child_strings;

/*
 * Builds *out for the request p, whose handles reach the child with the
 * values in handles (names and values in p's order: the spawn result), on
 * top of the base environment base_env (a block, or NULL for an empty one).
 *
 * Returns 0, or the error code the spawn fails with, having written the
 * reply's error.data.path to path[0..path_cap) and its detail to
 * detail[0..detail_cap) ("" where there is none):
 * - SB_E_UNKNOWN_HANDLE_NAME, SB_E_INVALID_NAME: a placeholder is wrong
 *   (the decoder checks them first, so this means the two disagree);
 * - SB_E_EXECUTABLE_NOT_FOUND: the program contains a '"', which no
 *   Windows file name can;
 * - SB_E_COMMAND_LINE_TOO_LONG, SB_E_INVALID_ARGUMENT: from
 *   sb__cmdline_build;
 * - any error of sb__envblock_build;
 * - SB_E_NOMEM.
 * Nothing needs freeing on failure; on success free *out with
 * sb__child_strings_free.
 */
int sb__child_strings_build(const sb_spawn_params *p, const sb_spawn_result *handles,
                            const sb__wchar *base_env, sb__child_strings *out, char *path,
                            size_t path_cap, char *detail, size_t detail_cap);
void sb__child_strings_free(sb__child_strings *s);

#endif
