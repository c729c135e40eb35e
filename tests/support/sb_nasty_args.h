/*
 * Arguments that break naive command-line quoting: white space of every
 * kind, quotes, backslash runs before quotes and at the end, UNC and long
 * paths, non-ASCII text and shell metacharacters. The Wine tests
 * (tests/e2e/test_cmdline.c) and the native ones (tests/broker/
 * test_cmdline_split.c) run the builder over the same list.
 */
#ifndef SBT_NASTY_ARGS_H
#define SBT_NASTY_ARGS_H

#include <stddef.h>

static const char *const nasty[] = {
    "",
    "plain",
    "two words",
    " leading space",
    "trailing space ",
    "   ",
    "tab\there",
    "\t",
    "new\nline",
    "vertical\vtab",
    "\"",
    "\"\"",
    "\"\"\"",
    "a\"b",
    "\"quoted\"",
    "\"quoted with space\"",
    "\\",
    "\\\\",
    "trailing\\",
    "trailing\\\\",
    "trailing\\\\\\",
    "with space\\",
    "with space\\\\",
    "back\\\"quote",
    "back\\\\\"quote",
    "back\\\\\\\"quote",
    "\\\"",
    "\\\\\"",
    "\"\\",
    "a\\\\b\\c",
    "\\\\server\\share",
    "\\\\server\\share\\dir with space\\",
    "\\\\?\\C:\\long\\path",
    "C:\\Program Files\\x\\",
    "C:\\Program Files\\x\\\\",
    "ünïcödé",
    "日本語 テキスト",
    "😀",
    "emoji 😀\t\"x\"\\",
    "Ω≈ç√∫ 𝄞",
    "%PATH%",
    "%",
    "^&|<>",
    "a^b",
    "&& echo pwned",
    "() ! ; ,",
    "*",
    "?.txt",
    "'single quoted'",
    "=",
    "a=b",
    "-",
    "--flag=\"x y\"",
    "/c",
    "{handle:x}",
    "end\\ \\",
};
#define NNASTY (sizeof nasty / sizeof nasty[0])

#endif
