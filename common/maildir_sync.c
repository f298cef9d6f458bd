/*
 * maildir_sync.c - store_sync() and the notify descriptor for a Maildir.
 *
 * The cheap path is the common one (every NOOP, every IDLE wake-up):
 * stat cur/ and new/ and pread the index header; if the directories'
 * mtimes are those the view was built from and no other session wrote
 * the index, nothing changed and we return.  Otherwise maildir_scan.c
 * re-reads what changed under the lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store_int.h"
#include "maildir_int.h"
#include "uidlist.h"
#include "util.h"

void
md_stat_dirs(struct maildir *md, struct timespec mt[2])
{
	for (int s = 0; s < 2; s++) {
		struct stat sb;

		if (fstat(md->sub[s], &sb) == 0)
			mt[s] = sb.st_mtim;
		else
			memset(&mt[s], 0, sizeof(mt[s]));
	}
}

static int
same(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static void
drain(struct maildir *md)
{
	char buf[4096];

	if (md->notify_fd < 0)
		return;
	while (read(md->notify_fd, buf, sizeof(buf)) > 0)
		;
}

/* Without an index, a replaced uid list (a new UIDVALIDITY) shows
 * only in the file itself. */
static int
uidlist_changed(struct maildir *md)
{
	struct stat sb;
	int changed;

	if (fstatat(md->dfd, UIDLIST_NAME, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return 1;
	changed = sb.st_ino != md->ul_ino || sb.st_size != md->ul_size;
	md->ul_ino = sb.st_ino;
	md->ul_size = sb.st_size;
	return changed;
}

/* Messages kept as gone that the caller may now report. */
static int
gone_to_report(const struct maildir *md, int flags)
{
	if (flags & STORE_SYNC_KEEP_EXPUNGED)
		return 0;
	for (unsigned i = 0; i < md->st.count; i++)
		if (md->st.msgs[i].state & SM_GONE)
			return 1;
	return 0;
}

enum store_result
md_sync(struct store *st, int flags, struct store_changes *ch, char *err,
    size_t errlen)
{
	struct maildir *md = (struct maildir *)st;
	struct timespec mt[2];
	int grew;

	drain(md);
	(void)md_kw_load(md, &grew);
	ch->keywords_added = grew;
	md_stat_dirs(md, mt);
	if (same(&mt[0], &md->seen[0]) && same(&mt[1], &md->seen[1]) &&
	    (md->ix != NULL ? !index_changed(md->ix) : !uidlist_changed(md)) &&
	    !gone_to_report(md, flags)) {
		md_ix_writeback(md);
		return STORE_OK;
	}
	return md_refresh(md, flags, ch, err, errlen);
}

int
md_notify_fd(struct store *st)
{
	struct maildir *md = (struct maildir *)st;
	const uint32_t mask = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM |
	    IN_DELETE;

	if (md->notify_fd >= 0)
		return md->notify_fd;
	if ((md->notify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		return -1;
	for (int s = 0; s < 2; s++) {
		char *p = xasprintf("%s/%s", md->path, md_subdir[s]);
		int w = inotify_add_watch(md->notify_fd, p, mask |
		    IN_DONT_FOLLOW | IN_ONLYDIR);

		free(p);
		if (w < 0) {
			log_msg(LOG_WARNING, "%s: inotify: %m", md->path);
			close(md->notify_fd);
			return md->notify_fd = -1;
		}
	}
	return md->notify_fd;
}
