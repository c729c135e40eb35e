/*
 * A portable model of how a Windows program splits its command line into
 * arguments, so that natively built tests and the fuzz target can check that
 * broker/cmdline.c's lines give back exactly the arguments of a request.
 *
 * Two splitters read a child's line, and they differ in two corners:
 * - SBT_SPLIT_SHELL, CommandLineToArgvW: a quoted argv[0] ends at its
 *   closing quote, an unquoted one at white space with any '"' in it kept;
 *   inside quotes, "" is a literal '"' that also ends the quoting.
 * - SBT_SPLIT_CRT, the C runtime's start-up code (MSVC since Visual C++
 *   2008, UCRT, mingw-w64): argv[0] runs up to white space outside quotes,
 *   each '"' switching quoting and dropped; inside quotes in later
 *   arguments, "" is a literal '"' and the quoting goes on.
 * Everywhere else the rules are the same: arguments are separated by spaces
 * and tabs outside quotes; argv[0] has no escapes; in later arguments, a run
 * of 2n backslashes before a '"' stands for n backslashes and the '"' opens
 * or closes quoting, 2n+1 stand for n and a literal '"', and a run before
 * anything else is literal.
 *
 * tests/e2e/test_cmdline.c checks the SHELL rules against the real
 * CommandLineToArgvW under Wine on every line the builder makes there.
 */
#ifndef SBT_ARGV_SPLIT_H
#define SBT_ARGV_SPLIT_H

#include <stddef.h>

#include "utf.h"

typedef enum sbt_split_rules { SBT_SPLIT_SHELL, SBT_SPLIT_CRT } sbt_split_rules;

/* Splits line into *argc malloc'd UTF-8 strings in a malloc'd *argv (free
 * with sbt_argv_free). Returns 0, SB_E_NOMEM, or SB_E_INVALID_ARGUMENT when an
 * argument is not valid UTF-16 (a lone surrogate). */
int sbt_argv_split(const sb__wchar *line, sbt_split_rules rules, char ***argv, size_t *argc);
void sbt_argv_free(char **argv, size_t argc);

#endif
