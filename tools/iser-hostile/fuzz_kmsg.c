// SPDX-License-Identifier: GPL-2.0
/*
 * iser-hostile: the fuzzer's kernel log watch. New records of /dev/kmsg
 * ("prio,seq,usec,flags;text", then " KEY=value" lines) are read without
 * blocking and matched against the messages the kernel prints when it is
 * in trouble; a plain text file of messages reads the same way, which is
 * how the self-test feeds it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

/*
 * Each pattern must follow a non-word character or start the message, so
 * that "DEBUG:" is no "BUG:". "BUG CACHE (" starts a slab debug report
 * (poison or redzone overwritten: a write after free or past the end).
 */
static const char splat_re[] =
	"(^|[^[:alnum:]_])(BUG:|WARNING:|KASAN|UBSAN|Oops|general protection|"
	"list_add corruption|list_del corruption|refcount_t:|kernel BUG|"
	"INFO: task .* blocked|unreferenced object|BUG [^[:space:]:]+ \\()";

int fz_splat_compile(regex_t *re)
{
	return regcomp(re, splat_re, REG_EXTENDED | REG_NOSUB) ? -1 : 0;
}

bool fz_splat_match(const regex_t *re, const char *line)
{
	return regexec(re, line, 0, NULL, 0) == 0;
}

/*
 * @from_end: only records written from now on (/dev/kmsg seeks to its
 * end; a regular file too). Returns -1 when @path cannot be read.
 */
int fz_kmsg_open(struct fz_kmsg *k, const char *path, bool from_end)
{
	k->len = 0;
	k->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (k->fd < 0)
		return -1;
	if (fz_splat_compile(&k->re)) {
		close(k->fd);
		k->fd = -1;
		return -1;
	}
	if (from_end)
		lseek(k->fd, 0, SEEK_END);
	return 0;
}

/* The message of a record line, or NULL for a continuation line. */
static const char *message(const char *l)
{
	const char *semi;

	if (*l == ' ')
		return NULL;
	semi = strchr(l, ';');
	if (semi && strspn(l, "0123456789,-+cC") == (size_t)(semi - l))
		return semi + 1;
	return l;
}

static unsigned int lines(struct fz_kmsg *k, bool all, char *first,
			  size_t firstlen, unsigned int found)
{
	char *l = k->buf, *nl;

	while ((nl = memchr(l, '\n', k->len - (size_t)(l - k->buf))) ||
	       (all && l < k->buf + k->len)) {
		const char *m;

		if (nl)
			*nl = 0;
		else
			k->buf[k->len] = 0;
		m = message(l);
		if (m && fz_splat_match(&k->re, m)) {
			if (!found++ && firstlen)
				snprintf(first, firstlen, "%s", m);
		}
		l = nl ? nl + 1 : k->buf + k->len;
	}
	k->len -= (size_t)(l - k->buf);
	memmove(k->buf, l, k->len);
	return found;
}

/*
 * Read what is new and count the splat lines in it; the first goes to
 * @first. A record lost because the ring wrapped under us (EPIPE) is
 * skipped: the next read resumes after it.
 */
unsigned int fz_kmsg_scan(struct fz_kmsg *k, char *first, size_t firstlen)
{
	unsigned int found = 0;

	if (k->fd < 0)
		return 0;
	for (;;) {
		ssize_t n;

		if (k->len + 1 >= sizeof(k->buf))
			found = lines(k, true, first, firstlen, found);
		n = read(k->fd, k->buf + k->len, sizeof(k->buf) - k->len - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		k->len += (size_t)n;
		found = lines(k, false, first, firstlen, found);
	}
	return lines(k, true, first, firstlen, found);
}

void fz_kmsg_close(struct fz_kmsg *k)
{
	if (k->fd < 0)
		return;
	close(k->fd);
	regfree(&k->re);
	k->fd = -1;
}
