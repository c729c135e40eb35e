/*
 * Strict JSON for the protocol decoders: the raw-frame prescan, the parse
 * wrapper over cJSON, and strict readers of the parsed tree. See
 * json_strict.h for what each function promises.
 */
#include "json_strict.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* UTF-8                                                                    */

bool sb__utf8_valid(const char *s, size_t n, size_t *bad_at, const char **why) {
  const unsigned char *p = (const unsigned char *)s;
  const char *reason = NULL;
  size_t i = 0;
  while (i < n) {
    unsigned lead = p[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    size_t need;
    uint32_t cp, min;
    if (lead < 0xC0) {
      reason = "a continuation byte without a lead byte";
      goto bad;
    } else if (lead < 0xE0) {
      need = 1, cp = lead & 0x1F, min = 0x80;
    } else if (lead < 0xF0) {
      need = 2, cp = lead & 0x0F, min = 0x800;
    } else if (lead < 0xF8) {
      need = 3, cp = lead & 0x07, min = 0x10000;
    } else {
      reason = "a byte that never occurs in UTF-8";
      goto bad;
    }
    for (size_t k = 1; k <= need; k++) {
      if (i + k >= n || (p[i + k] & 0xC0) != 0x80) {
        reason = "a truncated sequence";
        goto bad;
      }
      cp = (cp << 6) | (p[i + k] & 0x3Fu);
    }
    if (cp < min) {
      reason = "an overlong encoding";
      goto bad;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      reason = "an encoded UTF-16 surrogate";
      goto bad;
    }
    if (cp > 0x10FFFF) {
      reason = "a code point above U+10FFFF";
      goto bad;
    }
    i += need + 1;
  }
  return true;
bad:
  if (bad_at != NULL) *bad_at = i;
  if (why != NULL) *why = reason;
  return false;
}

/* Cuts s so that it does not end in the middle of a UTF-8 sequence, which
 * is what a byte-limited copy or snprintf may leave behind. */
static void utf8_trim_tail(char *s) {
  size_t n = strlen(s), k = n, cont = 0;
  while (k > 0 && cont < 4 && ((unsigned char)s[k - 1] & 0xC0) == 0x80) k--, cont++;
  if (k == 0) {
    s[0] = '\0';
    return;
  }
  unsigned lead = (unsigned char)s[k - 1];
  size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
  if (cont < need || (lead < 0xC0 && cont > 0)) s[k - 1 + (lead < 0xC0)] = '\0';
}

void sb__copy_text(char *dst, size_t size, const char *src) {
  if (dst == NULL || size == 0) return;
  size_t n = src ? strlen(src) : 0;
  if (n >= size) n = size - 1;
  if (n > 0) memcpy(dst, src, n);
  dst[n] = '\0';
  utf8_trim_tail(dst);
}

/* ------------------------------------------------------------------------ */
/* Errors and paths                                                         */

void sb__jctx_init(sb__jctx *c, sb_decode_error *err) {
  c->err = err;
  c->path[0] = '\0';
  c->path_len = 0;
  memset(err, 0, sizeof *err);
  err->id.kind = SB_ID_NULL;
}

static void path_append(sb__jctx *c, const char *text) {
  sb__copy_text(c->path + c->path_len, sizeof c->path - c->path_len, text);
  c->path_len += strlen(c->path + c->path_len);
}

size_t sb__jpath_key(sb__jctx *c, const char *key) {
  size_t old = c->path_len;
  if (old > 0) path_append(c, ".");
  path_append(c, key);
  return old;
}

size_t sb__jpath_index(sb__jctx *c, size_t index) {
  size_t old = c->path_len;
  char buf[32];
  snprintf(buf, sizeof buf, "[%lu]", (unsigned long)index);
  path_append(c, buf);
  return old;
}

void sb__jpath_restore(sb__jctx *c, size_t len) {
  if (len < c->path_len) {
    c->path_len = len;
    c->path[len] = '\0';
  }
}

SB__PRINTF_LIKE(3, 0)
static int vfail(sb__jctx *c, int err, const char *fmt, va_list ap) {
  sb_decode_error *e = c->err;
  e->err = err;
  memcpy(e->path, c->path, c->path_len + 1);
  e->detail[0] = '\0';
  if (fmt != NULL) {
    vsnprintf(e->detail, sizeof e->detail, fmt, ap);
    /* Some C runtimes leave a truncated buffer unterminated. */
    e->detail[sizeof e->detail - 1] = '\0';
    utf8_trim_tail(e->detail);
  }
  return err;
}

int sb__jfail(sb__jctx *c, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(c, err, fmt, ap);
  va_end(ap);
  return err;
}

int sb__jfail_at(sb__jctx *c, const char *key, int err, const char *fmt, ...) {
  size_t mark = key ? sb__jpath_key(c, key) : c->path_len;
  va_list ap;
  va_start(ap, fmt);
  vfail(c, err, fmt, ap);
  va_end(ap);
  sb__jpath_restore(c, mark);
  return err;
}

const char *sb__json_type_name(const cJSON *v) {
  if (v == NULL) return "nothing";
  if (cJSON_IsNull(v)) return "null";
  if (cJSON_IsTrue(v)) return "true";
  if (cJSON_IsFalse(v)) return "false";
  if (cJSON_IsNumber(v)) return "a number";
  if (cJSON_IsString(v)) return "a string";
  if (cJSON_IsArray(v)) return "an array";
  if (cJSON_IsObject(v)) return "an object";
  return "an invalid value";
}

/* ------------------------------------------------------------------------ */
/* The prescan: a complete RFC 8259 recogniser over the raw bytes.          */

typedef struct scanner {
  sb__jctx *c;
  const unsigned char *base, *p, *end;
  int depth, max_depth;
  bool nul_escape;
} scanner;

static unsigned long scan_offset(const scanner *s, const unsigned char *at) {
  return (unsigned long)(at - s->base);
}

static int is_ws(unsigned ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }
static int is_digit(unsigned ch) { return ch >= '0' && ch <= '9'; }

static void skip_ws(scanner *s) {
  while (s->p < s->end && is_ws(*s->p)) s->p++;
}

static int unexpected(scanner *s) {
  if (s->p >= s->end)
    return sb__jfail(s->c, SB_E_PARSE, "the frame ends in the middle of a JSON value");
  unsigned ch = *s->p;
  if (ch > 0x20 && ch < 0x7F)
    return sb__jfail(s->c, SB_E_PARSE, "unexpected character '%c' at byte %lu", (int)ch,
                     scan_offset(s, s->p));
  return sb__jfail(s->c, SB_E_PARSE, "unexpected byte 0x%02X at byte %lu", ch,
                   scan_offset(s, s->p));
}

/* Reads four hex digits at p (which must have them) into *out. */
static bool hex4(const unsigned char *p, const unsigned char *end, uint32_t *out) {
  uint32_t v = 0;
  if (end - p < 4) return false;
  for (int i = 0; i < 4; i++) {
    unsigned ch = p[i], d;
    if (ch >= '0' && ch <= '9') d = ch - '0';
    else if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
    else return false;
    v = (v << 4) | d;
  }
  *out = v;
  return true;
}

static int scan_string(scanner *s) {
  const unsigned char *open = s->p++;
  for (;;) {
    if (s->p >= s->end)
      return sb__jfail(s->c, SB_E_PARSE, "the string opened at byte %lu is not closed",
                       scan_offset(s, open));
    unsigned ch = *s->p;
    if (ch == '"') {
      s->p++;
      return 0;
    }
    if (ch < 0x20)
      return sb__jfail(s->c, SB_E_PARSE,
                       "raw control byte 0x%02X inside a string at byte %lu (it must be escaped)",
                       ch, scan_offset(s, s->p));
    if (ch != '\\') {
      s->p++; /* any other byte: UTF-8 was checked over the whole frame */
      continue;
    }
    const unsigned char *esc = s->p;
    if (s->end - s->p < 2)
      return sb__jfail(s->c, SB_E_PARSE, "the string opened at byte %lu is not closed",
                       scan_offset(s, open));
    switch (s->p[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
      s->p += 2;
      continue;
    case 'u':
      break;
    default:
      return sb__jfail(s->c, SB_E_PARSE, "invalid escape sequence at byte %lu",
                       scan_offset(s, esc));
    }
    uint32_t u, lo;
    if (!hex4(s->p + 2, s->end, &u))
      return sb__jfail(s->c, SB_E_PARSE, "invalid \\u escape at byte %lu", scan_offset(s, esc));
    s->p += 6;
    if (u == 0) {
      /* Legal JSON, but no string of ours may hold a NUL. The parse step
       * finds out which string it was, so the error can name the field. */
      s->nul_escape = true;
    } else if (u >= 0xD800 && u <= 0xDBFF) {
      if (s->end - s->p >= 6 && s->p[0] == '\\' && s->p[1] == 'u' &&
          hex4(s->p + 2, s->end, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
        s->p += 6;
      } else {
        return sb__jfail(s->c, SB_E_INVALID_UTF8,
                         "the escape \\u%04X at byte %lu is a high surrogate without a low one",
                         (unsigned)u, scan_offset(s, esc));
      }
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      return sb__jfail(s->c, SB_E_INVALID_UTF8,
                       "the escape \\u%04X at byte %lu is a low surrogate without a high one",
                       (unsigned)u, scan_offset(s, esc));
    }
  }
}

static int scan_number(scanner *s) {
  const unsigned char *start = s->p;
  if (*s->p == '-') s->p++;
  if (s->p < s->end && *s->p == '0') {
    s->p++;
  } else if (s->p < s->end && *s->p >= '1' && *s->p <= '9') {
    while (s->p < s->end && is_digit(*s->p)) s->p++;
  } else {
    goto bad;
  }
  if (s->p < s->end && *s->p == '.') {
    s->p++;
    if (s->p >= s->end || !is_digit(*s->p)) goto bad;
    while (s->p < s->end && is_digit(*s->p)) s->p++;
  }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
    s->p++;
    if (s->p < s->end && (*s->p == '+' || *s->p == '-')) s->p++;
    if (s->p >= s->end || !is_digit(*s->p)) goto bad;
    while (s->p < s->end && is_digit(*s->p)) s->p++;
  }
  return 0;
bad:
  return sb__jfail(s->c, SB_E_PARSE, "invalid number at byte %lu", scan_offset(s, start));
}

static int scan_literal(scanner *s, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) return unexpected(s);
  s->p += n;
  return 0;
}

static int scan_value(scanner *s);

/* Enters an array or object: one level deeper. */
static int scan_enter(scanner *s) {
  if (++s->depth > s->max_depth)
    return sb__jfail(s->c, SB_E_NESTING_TOO_DEEP,
                     "arrays and objects nest more than %d levels deep (at byte %lu)",
                     s->max_depth, scan_offset(s, s->p));
  s->p++;
  skip_ws(s);
  return 0;
}

static int scan_array(scanner *s) {
  int rc = scan_enter(s);
  if (rc != 0) return rc;
  if (s->p < s->end && *s->p == ']') goto close;
  for (;;) {
    if ((rc = scan_value(s)) != 0) return rc;
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') goto close;
    if (s->p >= s->end || *s->p != ',') return unexpected(s);
    s->p++;
    skip_ws(s);
  }
close:
  s->p++;
  s->depth--;
  return 0;
}

static int scan_object(scanner *s) {
  int rc = scan_enter(s);
  if (rc != 0) return rc;
  if (s->p < s->end && *s->p == '}') goto close;
  for (;;) {
    if (s->p >= s->end || *s->p != '"') return unexpected(s);
    if ((rc = scan_string(s)) != 0) return rc;
    skip_ws(s);
    if (s->p >= s->end || *s->p != ':') return unexpected(s);
    s->p++;
    skip_ws(s);
    if ((rc = scan_value(s)) != 0) return rc;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') goto close;
    if (s->p >= s->end || *s->p != ',') return unexpected(s);
    s->p++;
    skip_ws(s);
  }
close:
  s->p++;
  s->depth--;
  return 0;
}

static int scan_value(scanner *s) {
  if (s->p >= s->end) return unexpected(s);
  switch (*s->p) {
  case '{': return scan_object(s);
  case '[': return scan_array(s);
  case '"': return scan_string(s);
  case 't': return scan_literal(s, "true");
  case 'f': return scan_literal(s, "false");
  case 'n': return scan_literal(s, "null");
  default:
    if (*s->p == '-' || is_digit(*s->p)) return scan_number(s);
    return unexpected(s);
  }
}

int sb__json_prescan(sb__jctx *c, const char *text, size_t len, int max_depth,
                     bool *has_nul_escape) {
  if (has_nul_escape != NULL) *has_nul_escape = false;
  if (text == NULL) return sb__jfail(c, SB_E_INVALID_ARGUMENT, "no frame");

  size_t bad_at = 0;
  const char *why = NULL;
  if (!sb__utf8_valid(text, len, &bad_at, &why))
    return sb__jfail(c, SB_E_INVALID_UTF8, "invalid UTF-8 at byte %lu: %s",
                     (unsigned long)bad_at, why);

  scanner s;
  s.c = c;
  s.base = (const unsigned char *)text;
  s.p = s.base;
  s.end = s.base + len;
  s.depth = 0;
  s.max_depth = max_depth;
  s.nul_escape = false;

  skip_ws(&s);
  if (s.p >= s.end) return sb__jfail(c, SB_E_PARSE, "the frame holds no JSON value");
  int rc = scan_value(&s);
  if (rc != 0) return rc;
  skip_ws(&s);
  if (s.p < s.end)
    return sb__jfail(c, SB_E_PARSE, "unexpected data after the JSON value at byte %lu",
                     scan_offset(&s, s.p));
  if (has_nul_escape != NULL) *has_nul_escape = s.nul_escape;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */

/*
 * Walks the raw text string by string, in document order, which is the
 * order in which cJSON created the string nodes (an object member's key
 * comes just before its value). Only used on text the prescan accepted, so
 * every '"' met between strings opens the next one.
 */
typedef struct nul_cursor {
  const unsigned char *p, *end;
} nul_cursor;

static bool next_string(nul_cursor *cur, bool *has_nul) {
  while (cur->p < cur->end && *cur->p != '"') cur->p++;
  if (cur->p >= cur->end) return false;
  cur->p++;
  bool nul = false;
  while (cur->p < cur->end && *cur->p != '"') {
    if (*cur->p == '\\') {
      if (cur->end - cur->p >= 6 && cur->p[1] == 'u' && memcmp(cur->p + 2, "0000", 4) == 0)
        nul = true;
      cur->p += 2; /* the escaped character; \u's hex digits follow as plain bytes */
      continue;
    }
    cur->p++;
  }
  if (cur->p < cur->end) cur->p++;
  *has_nul = nul;
  return true;
}

static int annotate(sb__jctx *c, cJSON *item, nul_cursor *cur, bool keyed) {
  bool nul;
  if (cur != NULL && keyed) {
    if (!next_string(cur, &nul)) goto lost;
    if (nul) item->type |= SB__JSON_KEY_HAS_NUL;
  }
  if (cJSON_IsNumber(item) && !isfinite(item->valuedouble))
    return sb__jfail(c, SB_E_PARSE, "a number is too large to represent (such as 1e999)");
  if (cur != NULL && cJSON_IsString(item)) {
    if (!next_string(cur, &nul)) goto lost;
    if (nul) item->type |= SB__JSON_VALUE_HAS_NUL;
  }
  if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
    for (cJSON *child = item->child; child != NULL; child = child->next) {
      int rc = annotate(c, child, cur, cJSON_IsObject(item));
      if (rc != 0) return rc;
    }
  }
  return 0;
lost:
  return sb__jfail(c, SB_E_INTERNAL, "the parsed tree does not match the frame");
}

int sb__json_parse(sb__jctx *c, const char *text, size_t len, int max_depth, cJSON **out) {
  *out = NULL;
  bool has_nul = false;
  int rc = sb__json_prescan(c, text, len, max_depth, &has_nul);
  if (rc != 0) return rc;

  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  if (root == NULL)
    return sb__jfail(c, SB_E_NOMEM, "out of memory while parsing the frame");
  /* The prescan already proved this; checked again so that a cJSON that
   * stops early can never make us accept a prefix of the frame. */
  if (end == NULL || end < text || end > text + len) {
    rc = sb__jfail(c, SB_E_INTERNAL, "the parser stopped outside the frame");
    goto fail;
  }
  for (; end < text + len; end++) {
    if (!is_ws((unsigned char)*end)) {
      rc = sb__jfail(c, SB_E_PARSE, "unexpected data after the JSON value at byte %lu",
                     (unsigned long)(end - text));
      goto fail;
    }
  }

  nul_cursor cur = {(const unsigned char *)text, (const unsigned char *)text + len};
  rc = annotate(c, root, has_nul ? &cur : NULL, false);
  if (rc == 0 && has_nul && next_string(&cur, &has_nul))
    rc = sb__jfail(c, SB_E_INTERNAL, "the parsed tree does not match the frame");
  if (rc != 0) goto fail;
  *out = root;
  return 0;
fail:
  cJSON_Delete(root);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Reading values                                                           */

static bool is_integral(double d) {
  if (!isfinite(d)) return false;
  /* Every double of magnitude 2^53 or more is an integer, and converting
   * such a value to int64_t could overflow. */
  if (d >= 9007199254740992.0 || d <= -9007199254740992.0) return true;
  return (double)(int64_t)d == d;
}

int sb__json_int(sb__jctx *c, const cJSON *v, const char *key, double min, double max,
                 double *out) {
  if (!cJSON_IsNumber(v))
    return sb__jfail_at(c, key, SB_E_WRONG_TYPE, "expected an integer, got %s",
                        sb__json_type_name(v));
  double d = v->valuedouble;
  if (!is_integral(d))
    return sb__jfail_at(c, key, SB_E_NOT_AN_INTEGER, "%.17g is not an integer", d);
  if (d < min || d > max)
    return sb__jfail_at(c, key, SB_E_OUT_OF_RANGE, "%.17g is outside the range %.17g to %.17g",
                        d, min, max);
  *out = d == 0 ? 0.0 : d; /* -0 is zero */
  return 0;
}

int sb__json_u32(sb__jctx *c, const cJSON *v, const char *key, uint32_t min, uint32_t max,
                 uint32_t *out) {
  double d;
  int rc = sb__json_int(c, v, key, (double)min, (double)max, &d);
  if (rc == 0) *out = (uint32_t)d;
  return rc;
}

int sb__json_u64(sb__jctx *c, const cJSON *v, const char *key, double min, double max,
                 uint64_t *out) {
  double d;
  int rc = sb__json_int(c, v, key, min, max, &d);
  if (rc == 0) *out = (uint64_t)d;
  return rc;
}

int sb__json_string(sb__jctx *c, const cJSON *v, const char *key, size_t max_bytes,
                    bool non_empty, const char **out) {
  if (!cJSON_IsString(v) || v->valuestring == NULL)
    return sb__jfail_at(c, key, SB_E_WRONG_TYPE, "expected a string, got %s",
                        sb__json_type_name(v));
  if (v->type & SB__JSON_VALUE_HAS_NUL)
    return sb__jfail_at(c, key, SB_E_STRING_HAS_NUL,
                        "the string contains a NUL character (\\u0000)");
  const char *s = v->valuestring;
  size_t n = strlen(s);
  if (!sb__utf8_valid(s, n, NULL, NULL))
    return sb__jfail_at(c, key, SB_E_INVALID_UTF8, "the string is not valid UTF-8");
  if (n > max_bytes)
    return sb__jfail_at(c, key, SB_E_STRING_TOO_LONG,
                        "the string is %lu bytes long; at most %lu are allowed",
                        (unsigned long)n, (unsigned long)max_bytes);
  if (non_empty && n == 0)
    return sb__jfail_at(c, key, SB_E_EMPTY_STRING, "the string must not be empty");
  *out = s;
  return 0;
}

int sb__json_bool(sb__jctx *c, const cJSON *v, const char *key, bool *out) {
  if (!cJSON_IsBool(v))
    return sb__jfail_at(c, key, SB_E_WRONG_TYPE, "expected true or false, got %s",
                        sb__json_type_name(v));
  *out = cJSON_IsTrue(v) != 0;
  return 0;
}

int sb__json_enum(sb__jctx *c, const cJSON *v, const char *key, const char *const *names,
                  size_t n, int *out) {
  const char *s;
  int rc = sb__json_string(c, v, key, SB_LIMIT_STRING_BYTES, false, &s);
  if (rc != 0) return rc;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(names[i], s) == 0) {
      *out = (int)i;
      return 0;
    }
  }
  char allowed[96] = "";
  for (size_t i = 0; i < n; i++) {
    size_t used = strlen(allowed);
    snprintf(allowed + used, sizeof allowed - used, "%s\"%s\"", i ? ", " : "", names[i]);
  }
  return sb__jfail_at(c, key, SB_E_UNKNOWN_VALUE, "\"%s\" is not one of %s", s, allowed);
}

int sb__json_array(sb__jctx *c, const cJSON *v, const char *key, size_t max_items,
                   int too_many_err, size_t *count) {
  if (!cJSON_IsArray(v))
    return sb__jfail_at(c, key, SB_E_WRONG_TYPE, "expected an array, got %s",
                        sb__json_type_name(v));
  size_t n = 0;
  for (const cJSON *item = v->child; item != NULL; item = item->next) {
    if (n == max_items)
      return sb__jfail_at(c, key, too_many_err, "more than %lu items; %lu is the limit",
                          (unsigned long)max_items, (unsigned long)max_items);
    n++;
  }
  *count = n;
  return 0;
}

static int ascii_casecmp(const char *a, const char *b) {
  for (;; a++, b++) {
    int x = (unsigned char)*a, y = (unsigned char)*b;
    if (x >= 'A' && x <= 'Z') x += 'a' - 'A';
    if (y >= 'A' && y <= 'Z') y += 'a' - 'A';
    if (x != y || x == 0) return x - y;
  }
}

int sb__json_object(sb__jctx *c, const cJSON *v, const char *key, const sb__jfield *fields,
                    size_t nfields, const cJSON **found, unsigned flags) {
  size_t mark = key ? sb__jpath_key(c, key) : c->path_len;
  int rc = 0;
  for (size_t i = 0; i < nfields; i++) found[i] = NULL;
  if (!cJSON_IsObject(v)) {
    rc = sb__jfail(c, SB_E_WRONG_TYPE, "expected an object, got %s", sb__json_type_name(v));
    goto done;
  }
  for (const cJSON *m = v->child; m != NULL; m = m->next) {
    const char *k = m->string ? m->string : "";
    if (m->type & SB__JSON_KEY_HAS_NUL) {
      rc = sb__jfail_at(c, k, SB_E_STRING_HAS_NUL, "a key contains a NUL character (\\u0000)");
      goto done;
    }
    size_t i = 0;
    while (i < nfields && strcmp(fields[i].key, k) != 0) i++;
    if (i < nfields) {
      if (found[i] != NULL) {
        rc = sb__jfail_at(c, k, SB_E_DUPLICATE_KEY, "the key \"%s\" appears more than once", k);
        goto done;
      }
      found[i] = m;
      continue;
    }
    if (flags & SB__JSON_ALLOW_UNKNOWN) continue;
    const char *hint = NULL;
    for (size_t j = 0; j < nfields && hint == NULL; j++) {
      if (ascii_casecmp(fields[j].key, k) == 0) hint = fields[j].key;
    }
    if (hint != NULL)
      rc = sb__jfail_at(c, k, SB_E_UNKNOWN_KEY,
                        "unknown key \"%s\" (keys are case-sensitive: did you mean \"%s\"?)", k,
                        hint);
    else
      rc = sb__jfail_at(c, k, SB_E_UNKNOWN_KEY, "unknown key \"%s\"", k);
    goto done;
  }
  for (size_t i = 0; i < nfields; i++) {
    if (fields[i].required && found[i] == NULL) {
      rc = sb__jfail_at(c, fields[i].key, SB_E_MISSING_KEY, "the key \"%s\" is required",
                        fields[i].key);
      goto done;
    }
  }
done:
  sb__jpath_restore(c, mark);
  return rc;
}

int sb__json_id(sb__jctx *c, const cJSON *v, bool allow_null, sb_id *out) {
  memset(out, 0, sizeof *out);
  out->kind = SB_ID_NULL;
  if (cJSON_IsNull(v)) {
    if (allow_null) return 0;
    return sb__jfail_at(c, "id", SB_E_INVALID_REQUEST,
                        "id must be an integer or a string, not null");
  }
  if (cJSON_IsNumber(v)) {
    double d = v->valuedouble;
    if (!is_integral(d))
      return sb__jfail_at(c, "id", SB_E_INVALID_REQUEST, "id %.17g is not an integer", d);
    if (d < 0 || d > SB_LIMIT_ID_MAX)
      return sb__jfail_at(c, "id", SB_E_INVALID_REQUEST,
                          "id %.17g is outside the range 0 to 9007199254740991", d);
    sb_id_set_number(out, (uint64_t)d);
    return 0;
  }
  if (cJSON_IsString(v) && v->valuestring != NULL) {
    if (v->type & SB__JSON_VALUE_HAS_NUL)
      return sb__jfail_at(c, "id", SB_E_INVALID_REQUEST,
                          "id contains a NUL character (\\u0000)");
    size_t n = strlen(v->valuestring);
    if (n == 0)
      return sb__jfail_at(c, "id", SB_E_INVALID_REQUEST, "id must not be an empty string");
    if (n > SB_LIMIT_ID_BYTES)
      return sb__jfail_at(c, "id", SB_E_INVALID_REQUEST,
                          "id is %lu bytes long; at most %d are allowed", (unsigned long)n,
                          SB_LIMIT_ID_BYTES);
    if (!sb__utf8_valid(v->valuestring, n, NULL, NULL))
      return sb__jfail_at(c, "id", SB_E_INVALID_REQUEST, "id is not valid UTF-8");
    if (sb_id_set_string(out, v->valuestring) != 0)
      return sb__jfail_at(c, "id", SB_E_INVALID_REQUEST, "id is too long");
    return 0;
  }
  return sb__jfail_at(c, "id", SB_E_INVALID_REQUEST, "id must be an integer or a string, not %s",
                      sb__json_type_name(v));
}
