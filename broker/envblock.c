#include "envblock.h"

#include <stdlib.h>
#include <string.h>

#include "env_name.h"
#include "sb_errors.h"
#include "utf.h"

/* One "NAME=VALUE" string of the block being built. */
typedef struct env_item {
  const sb__wchar *text; /* "NAME=VALUE", not necessarily NUL-terminated for base */
  size_t text_len;     /* units, without a NUL */
  size_t name_len;     /* units of NAME */
  size_t order;        /* position of origin, so that equal names keep their order */
} env_item;

/* Compares two names the way Windows orders and matches environment names
 * (env_name.h). Lengths fit in an int: no item is longer than
 * SB__ENV_BLOCK_MAX_CHARS. */
static int name_cmp(const env_item *a, const env_item *b) {
  return sb__env_name_cmp(a->text, a->name_len, b->text, b->name_len);
}

/* The first '=' in s, or NULL. */
static const sb__wchar *find_equals(const sb__wchar *s) {
  for (; *s != 0; s++)
    if (*s == '=') return s;
  return NULL;
}

static int item_cmp(const void *pa, const void *pb) {
  const env_item *a = pa, *b = pb;
  int r = name_cmp(a, b);
  if (r != 0) return r;
  return a->order < b->order ? -1 : a->order > b->order;
}

/* The length of the name of a base entry. Names beginning with '=' (the
 * hidden "=C:=C:\dir" per-drive directories) end at the second '=', so the
 * search starts after the first character. An entry with no '=' at all is
 * not something Windows creates; it is kept whole, as a name. */
static size_t base_name_len(const sb__wchar *s, size_t len) {
  for (size_t i = 1; i < len; i++)
    if (s[i] == '=') return i;
  return len;
}

/* The index of the item in sorted[0..n) with the same name as key, or n. */
static size_t find_name(const env_item *sorted, size_t n, const env_item *key) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int r = name_cmp(key, &sorted[mid]);
    if (r == 0) return mid;
    if (r < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return n;
}

int sb__envblock_build(const sb__wchar *base, const char *const *entries, size_t nentries,
                       const char *extra_name, const char *extra_value, sb__wchar **out,
                       size_t *out_chars) {
  sb__wchar **owned = NULL;   /* the converted request strings */
  size_t nowned = 0;
  env_item *set = NULL;     /* the request's variables, sorted by name */
  size_t nset = 0;
  env_item *all = NULL;     /* kept base entries and set, sorted */
  size_t nall = 0, nbase = 0, total, i;
  sb__wchar *block = NULL, *w;
  sb__wchar *wname = NULL, *wvalue = NULL;
  const sb__wchar *s;
  int rc;

  if (out_chars != NULL) *out_chars = 0;
  if (out == NULL) return SB_E_INVALID_ARGUMENT;
  *out = NULL;
  if ((nentries > 0 && entries == NULL) || ((extra_name == NULL) != (extra_value == NULL)))
    return SB_E_INVALID_ARGUMENT;
  for (i = 0; i < nentries; i++)
    if (entries[i] == NULL) return SB_E_INVALID_ARGUMENT;

  /* Convert the request's variables; the extra one becomes "NAME=VALUE". */
  owned = calloc(nentries + 1, sizeof *owned);
  set = calloc(nentries + 1, sizeof *set);
  if (owned == NULL || set == NULL) {
    rc = SB_E_NOMEM;
    goto done;
  }
  for (i = 0; i < nentries; i++) {
    const sb__wchar *eq;
    if ((rc = sb__utf8_to_wide(entries[i], &owned[nowned])) != 0) goto done;
    s = owned[nowned++];
    eq = find_equals(s);
    if (eq == NULL || eq == s) {
      rc = SB_E_INVALID_ENV_ENTRY;
      goto done;
    }
    set[nset] = (env_item){s, sb__wlen(s), (size_t)(eq - s), nset};
    nset++;
  }
  if (extra_name != NULL) {
    size_t nlen, vlen;
    if ((rc = sb__utf8_to_wide(extra_name, &wname)) != 0) goto done;
    if ((rc = sb__utf8_to_wide(extra_value, &wvalue)) != 0) goto done;
    nlen = sb__wlen(wname);
    vlen = sb__wlen(wvalue);
    if (nlen == 0 || find_equals(wname) != NULL) {
      rc = SB_E_INVALID_NAME;
      goto done;
    }
    owned[nowned] = malloc((nlen + 1 + vlen + 1) * sizeof(sb__wchar));
    if (owned[nowned] == NULL) {
      rc = SB_E_NOMEM;
      goto done;
    }
    memcpy(owned[nowned], wname, nlen * sizeof(sb__wchar));
    owned[nowned][nlen] = '=';
    memcpy(owned[nowned] + nlen + 1, wvalue, (vlen + 1) * sizeof(sb__wchar));
    set[nset] = (env_item){owned[nowned], nlen + 1 + vlen, nlen, nset};
    nowned++;
    nset++;
  }
  for (i = 0; i < nset; i++) {
    if (set[i].text_len - set[i].name_len - 1 > SB__ENV_VALUE_MAX_CHARS) {
      rc = SB_E_ENVIRONMENT_TOO_LARGE;
      goto done;
    }
  }

  /* Sorted, two variables of the same name are neighbours. Windows would
   * keep only one of them in the child, so which one wins would depend on
   * the sort; refuse instead of guessing. */
  qsort(set, nset, sizeof *set, item_cmp);
  for (i = 1; i < nset; i++) {
    if (name_cmp(&set[i - 1], &set[i]) == 0) {
      rc = SB_E_DUPLICATE_ENV_NAME;
      goto done;
    }
  }

  /* Count the base entries, bounding each so that every length fits the
   * int that CompareStringOrdinal takes. */
  for (s = base; s != NULL && *s != '\0'; s += sb__wlen(s) + 1) {
    if (sb__wlen(s) > SB__ENV_BLOCK_MAX_CHARS) {
      rc = SB_E_ENVIRONMENT_TOO_LARGE;
      goto done;
    }
    nbase++;
  }
  all = calloc(nbase + nset + 1, sizeof *all);
  if (all == NULL) {
    rc = SB_E_NOMEM;
    goto done;
  }
  /* Keep the base entries the request does not replace, in their order, and
   * then the request's own (the order field puts them after the base for the
   * stable sort; names are unique by now, so it only matters for base
   * entries that share a name, which are left as Windows gave them). */
  for (s = base; s != NULL && *s != '\0'; s += sb__wlen(s) + 1) {
    size_t len = sb__wlen(s);
    env_item it = {s, len, base_name_len(s, len), nall};
    if (find_name(set, nset, &it) == nset) all[nall++] = it;
  }
  for (i = 0; i < nset; i++) {
    all[nall] = set[i];
    all[nall].order = nall;
    nall++;
  }
  qsort(all, nall, sizeof *all, item_cmp);

  /* Every string with its NUL, then the NUL that ends the block; an empty
   * block still needs two, because a block is read until an empty string. */
  total = 1;
  for (i = 0; i < nall; i++) total += all[i].text_len + 1;
  if (total < 2) total = 2;
  if (total > SB__ENV_BLOCK_MAX_CHARS) {
    rc = SB_E_ENVIRONMENT_TOO_LARGE;
    goto done;
  }
  block = malloc(total * sizeof *block);
  if (block == NULL) {
    rc = SB_E_NOMEM;
    goto done;
  }
  w = block;
  for (i = 0; i < nall; i++) {
    memcpy(w, all[i].text, all[i].text_len * sizeof *w);
    w += all[i].text_len;
    *w++ = '\0';
  }
  while (w < block + total) *w++ = '\0';

  *out = block;
  block = NULL;
  if (out_chars != NULL) *out_chars = total;
  rc = 0;
done:
  free(block);
  free(all);
  free(set);
  for (i = 0; i < nowned; i++) free(owned[i]);
  free(owned);
  free(wname);
  free(wvalue);
  return rc;
}
