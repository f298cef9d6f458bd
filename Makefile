# postern - IMAP and POP3 server.  Plain GNU make; see README.md.
#
#   make            build imapd/pop3d into build/
#   make check      build and run the test suite (prove t/)
#   make check SANITIZE=1   the same suite under ASan+UBSan (build-san/)
#   make check VALGRIND=1   the same suite with every server process and
#                           unit test under valgrind memcheck
#   make demo       run a demo server on localhost (see README.md)
#   make install    DESTDIR= PREFIX=/usr/local
#   make bench      benchmarks
#   make fuzz       build libFuzzer targets (clang)

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= /lib/systemd/system
LIBEXECDIR ?= $(PREFIX)/lib/postern

CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS := openssl libsystemd pam

WARN := -Wall -Wextra -Werror -Wformat=2 -Wformat-security \
	-Wformat-nonliteral -Wshadow -Wpointer-arith -Wvla -Wstrict-prototypes \
	-Wmissing-prototypes -Wimplicit-fallthrough
HARDEN := -fstack-protector-strong -fPIE -fcf-protection -fstack-clash-protection
LDHARDEN := -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack

ifeq ($(SANITIZE),1)
B := build-san
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
else
B := build
OPT := -O2 -g -D_FORTIFY_SOURCE=3
endif

CFLAGS ?=
override CFLAGS += -std=gnu11 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) \
	-Icommon $(shell $(PKG_CONFIG) --cflags $(PKGS))
override LDFLAGS += $(OPT) $(LDHARDEN)
LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS)) -lcrypt

COMMON_SRC := $(wildcard common/*.c)
POP3D_SRC := $(wildcard pop3d/*.c)
IMAPD_SRC := $(wildcard imapd/*.c)
UNIT_SRC := $(filter-out t/unit/tap.c,$(wildcard t/unit/test_*.c))

COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/obj/%.o)
POP3D_OBJ := $(POP3D_SRC:%.c=$(B)/obj/%.o)
IMAPD_OBJ := $(IMAPD_SRC:%.c=$(B)/obj/%.o)
# imapd without its main(): unit tests and fuzz targets link it
IMAPLIB_SRC := $(filter-out imapd/main.c,$(IMAPD_SRC))
IMAPLIB_OBJ := $(IMAPLIB_SRC:%.c=$(B)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:t/unit/%.c=$(B)/t/%)

PROGS := $(B)/pop3d $(if $(IMAPD_SRC),$(B)/imapd)

all: $(PROGS) $(UNIT_BIN) $(B)/store_bench

$(B)/obj/%.o: %.c $(wildcard common/*.h) $(wildcard pop3d/*.h) $(wildcard imapd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/libcommon.a: $(COMMON_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/pop3d: $(POP3D_OBJ) $(B)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $(POP3D_OBJ) $(B)/libcommon.a $(LIBS)

$(B)/libimap.a: $(IMAPLIB_OBJ)
	rm -f $@
	ar rcs $@ $^

# Objects, not libimap.a: a weak reference (commands.c) does not pull an
# archive member in.
$(B)/imapd: $(IMAPD_OBJ) $(B)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $(IMAPD_OBJ) $(B)/libcommon.a $(LIBS)

# Builds big mailboxes and opens them: `make bench` and t/53 use it.
$(B)/store_bench: bench/store_bench.c $(B)/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libcommon.a $(LIBS)

$(B)/t/%: t/unit/%.c t/unit/tap.c $(wildcard t/unit/*.h) $(B)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -It/unit $(LDFLAGS) -o $@ $< t/unit/tap.c $(B)/libcommon.a $(LIBS)

# unit tests of imapd's pieces (t/unit/test_imap_*.c) link libimap.a too
$(B)/t/test_imap_%: t/unit/test_imap_%.c t/unit/tap.c $(wildcard t/unit/*.h) \
		$(B)/libimap.a $(B)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -It/unit -Iimapd $(LDFLAGS) -o $@ $< t/unit/tap.c \
		$(B)/libimap.a $(B)/libcommon.a $(LIBS)

# The protocol tests run the binaries as root (they setuid to fake users
# made with nss_wrapper); see t/README.
check:
	@tools/deps.sh check
	@$(MAKE) --no-print-directory all
	POSTERN_BUILD=$(CURDIR)/$(B) $(if $(VALGRIND),POSTERN_VALGRIND=1) \
		prove -j2 t/

demo:
	@tools/deps.sh demo
	@$(MAKE) --no-print-directory all
	POSTERN_BUILD=$(CURDIR)/$(B) python3 tools/demo.py

bench: all
	POSTERN_BUILD=$(CURDIR)/$(B) bench/run

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(PROGS) $(DESTDIR)$(SBINDIR)/
	install -m 0644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	tools/install-extras.sh "$(DESTDIR)" "$(SBINDIR)" "$(SYSCONFDIR)" "$(UNITDIR)" "$(LIBEXECDIR)"

# libFuzzer targets: build-fuzz/fuzz_*; run one with
#   build-fuzz/fuzz_sasl -max_total_time=600 fuzz/corpus/sasl
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -g -O1 -Icommon \
	-fsanitize=fuzzer,address,undefined $(shell $(PKG_CONFIG) --cflags $(PKGS))
fuzz: $(FUZZ_SRC:fuzz/%.c=build-fuzz/%)

build-fuzz/%: fuzz/%.c $(COMMON_SRC) $(wildcard common/*.h)
	@mkdir -p build-fuzz
	clang $(FUZZ_CFLAGS) -o $@ $< $(COMMON_SRC) $(LIBS)

# the POP3 pre-auth target also needs pop3d's login state
build-fuzz/fuzz_pop3_login: fuzz/fuzz_pop3_login.c $(COMMON_SRC) pop3d/login.c
	@mkdir -p build-fuzz
	clang $(FUZZ_CFLAGS) -o $@ $< $(COMMON_SRC) pop3d/login.c $(LIBS)

# the IMAP targets (fuzz_imap_*) also need imapd's pieces
build-fuzz/fuzz_imap_%: fuzz/fuzz_imap_%.c $(COMMON_SRC) $(IMAPLIB_SRC) \
		$(wildcard common/*.h) $(wildcard imapd/*.h)
	@mkdir -p build-fuzz
	clang $(FUZZ_CFLAGS) -Iimapd -o $@ $< $(COMMON_SRC) $(IMAPLIB_SRC) $(LIBS)

clean:
	rm -rf build build-san build-fuzz

.PHONY: all check demo bench install clean fuzz
