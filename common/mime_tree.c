/*
 * mime_tree.c - the part tree's memory (an arena freed at once) and the
 * questions a formatter asks of a finished tree: section numbers, the
 * envelope defaults, parameter lookup.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime_int.h"
#include "util.h"

#define ARENA_BLOCK 16384

struct ablock {
	struct ablock *next;
	size_t used, cap;
	max_align_t data[];
};

struct mime_arena {
	struct ablock *head;
	size_t total;		/* bytes handed out, for the budget */
	size_t budget;
};

struct mime_arena *
mime_arena_new(void)
{
	struct mime_arena *a = xcalloc(1, sizeof(struct mime_arena));

	a->budget = MIME_MAX_TREE_BYTES;
	return a;
}

void
mime_arena_free(struct mime_arena *a)
{
	struct ablock *b, *next;

	if (a == NULL)
		return;
	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

void
mime_arena_budget(struct mime_arena *a, size_t budget)
{
	a->budget = budget;
}

void *
mime_arena_alloc(struct mime_arena *a, size_t n)
{
	struct ablock *b = a->head;
	size_t need = (n + 15) & ~(size_t)15;
	void *p;

	if (n > a->budget || a->total + need > a->budget)
		return NULL;
	if (b == NULL || b->cap - b->used < need) {
		size_t cap = need > ARENA_BLOCK ? need : ARENA_BLOCK;

		b = xmalloc(sizeof(*b) + cap);
		b->used = 0;
		b->cap = cap;
		/* a big allocation gets its own block behind the current one
		 * so the current one's free space is not lost */
		if (a->head != NULL && need > ARENA_BLOCK) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	p = (char *)b->data + b->used;
	b->used += need;
	a->total += need;
	memset(p, 0, n);
	return p;
}

int
mime_arena_str(struct mime_arena *a, const void *p, size_t n,
    struct mime_str *out)
{
	char *s;

	out->p = NULL;
	out->len = 0;
	if (n >= UINT32_MAX || (s = mime_arena_alloc(a, n + 1)) == NULL)
		return -1;
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	out->p = s;
	out->len = (uint32_t)n;
	return 0;
}

void
mime_lower(struct mime_str *s)
{
	char *p = (char *)s->p;

	for (uint32_t i = 0; i < s->len; i++)
		if (p[i] >= 'A' && p[i] <= 'Z')
			p[i] = (char)(p[i] - 'A' + 'a');
}

int
mime_str_is(const struct mime_str *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->p != NULL && s->len == n && strncasecmp(s->p, lit, n) == 0;
}

struct mime_tree *
mime_tree_new(void)
{
	struct mime_tree *t = xcalloc(1, sizeof(*t));

	t->arena = mime_arena_new();
	return t;
}

void
mime_tree_free(struct mime_tree *t)
{
	if (t == NULL)
		return;
	mime_arena_free(t->arena);
	free(t->parts);
	free(t);
}

uint32_t
mime_tree_add(struct mime_tree *t, uint32_t parent)
{
	struct mime_part *p;
	uint32_t i = t->nparts;

	/* doubling: parts are bounded by MIME_MAX_PARTS */
	if ((i & (i - 1)) == 0)
		t->parts = xreallocarray(t->parts, i ? 2 * i : 1,
		    sizeof(*t->parts));
	p = &t->parts[i];
	memset(p, 0, sizeof(*p));
	p->parent = parent;
	p->first_child = p->next = MIME_NONE;
	t->nparts++;
	if (parent != MIME_NONE) {
		struct mime_part *pp = &t->parts[parent];

		p->depth = pp->depth + 1;
		if (pp->first_child == MIME_NONE)
			pp->first_child = i;
		else {
			uint32_t c = pp->first_child;

			/* parts are added in order: the last child is the
			 * most recent part whose parent is this one */
			for (uint32_t k = i - 1; k > c; k--)
				if (t->parts[k].parent == parent) {
					c = k;
					break;
				}
			t->parts[c].next = i;
		}
		pp->nchildren++;
	}
	return i;
}

const struct mime_alist *
mime_env_addr(const struct mime_env *e, int field)
{
	if ((field == MIME_ENV_SENDER || field == MIME_ENV_REPLY_TO) &&
	    e->addr[field].n == 0)
		return &e->addr[MIME_ENV_FROM];
	return &e->addr[field];
}

const struct mime_param *
mime_param_get(const struct mime_param *ps, uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if (mime_str_is(&ps[i].name, name))
			return &ps[i];
	return NULL;
}

static int
is_multipart(const struct mime_part *p)
{
	return mime_str_is(&p->type, "multipart");
}

/* Child number k (1-based) of part i, or MIME_NONE. */
static uint32_t
nth_child(const struct mime_tree *t, uint32_t i, uint32_t k)
{
	uint32_t c = t->parts[i].first_child;

	if (k == 0)
		return MIME_NONE;
	while (c != MIME_NONE && --k > 0)
		c = t->parts[c].next;
	return c;
}

uint32_t
mime_section(const struct mime_tree *t, const uint32_t *nums, size_t n)
{
	uint32_t cur = 0;
	int as_body = 0;	/* cur is a message taken as its own part 1 */

	if (t->nparts == 0)
		return MIME_NONE;
	for (size_t i = 0; i < n; i++) {
		const struct mime_part *p = &t->parts[cur];

		/* a message/rfc822 part's numbers count its message's parts
		 * (a message that is itself message/rfc822: once its body
		 * was taken as part 1) */
		if (mime_str_is(&p->type, "message") &&
		    p->first_child != MIME_NONE &&
		    (as_body || !(p->flags & MIME_PART_MESSAGE))) {
			cur = p->first_child;
			p = &t->parts[cur];
			as_body = 0;
		}
		if (is_multipart(p) && !as_body) {
			if ((cur = nth_child(t, cur, nums[i])) == MIME_NONE)
				return MIME_NONE;
			continue;
		}
		/* RFC 3501 6.4.5: a non-multipart message has part 1 only */
		if (!(p->flags & MIME_PART_MESSAGE) || as_body || nums[i] != 1)
			return MIME_NONE;
		as_body = 1;
	}
	return cur;
}
