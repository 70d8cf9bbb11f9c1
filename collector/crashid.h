// SPDX-License-Identifier: MIT
/*
 * crashid: Socorro crash ids ("OOIDs"): a random UUID4 string whose last 7 characters are
 * `<throttle digit><YYMMDD>`, the throttle decision and the UTC date of submission. Downstream
 * storage keys (`v1/raw_crash/<YYYYMMDD>/<id>`) derive the date from the id, so minting uses the
 * same clock reading as the raw crash's submitted_timestamp.
 *
 * Randomness comes from getrandom(2) (the kernel CSPRNG): ids are unguessable, so a client cannot
 * overwrite or probe another client's report. Validation is the reference regex
 * `^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{6}[0-9]{6}$` (lower case only), strict
 * mode also requiring the throttle digit to be 0 or 1. Pure functions, safe from any thread.
 */
#ifndef edge__collector_crashid_h
#define edge__collector_crashid_h

#include <stddef.h>
#include <time.h>

/** Length of a crash id, without the NUL. */
#define CRASHID_LEN 36

/** Throttle digits stored in the id. */
#define CRASHID_THROTTLE_ACCEPT 0
#define CRASHID_THROTTLE_DEFER 1
#define CRASHID_THROTTLE_FAKEACCEPT 3

/**
 * Mints a new crash id.
 * @param[out] out receives CRASHID_LEN characters and a NUL
 * @param[in] throttle_digit 0..9 (CRASHID_THROTTLE_*)
 * @param[in] when submission time; its UTC date goes into the id
 * @return 0, -EINVAL for a bad digit or a date gmtime cannot represent, or -errno from getrandom.
 */
int crashid_mint(char out[CRASHID_LEN + 1], int throttle_digit, time_t when);

/**
 * Tells whether s is a well-formed crash id.
 * @param[in] s the candidate (need not be NUL-terminated)
 * @param[in] len its length (anything but CRASHID_LEN is invalid)
 * @param[in] strict nonzero to require throttle digit 0 or 1
 * @return 1 if valid, 0 if not.
 */
int crashid_validate(const char *s, size_t len, int strict);

/**
 * Extracts the storage date of a valid crash id: "20" followed by its YYMMDD.
 * @param[in] id a crash id of CRASHID_LEN characters
 * @param[out] out receives "YYYYMMDD" and a NUL
 * @return 0, or -EINVAL if id is not a valid crash id.
 */
int crashid_date(const char *id, char out[9]);

/**
 * @return the throttle digit (0..9) of a valid crash id, or -EINVAL.
 */
int crashid_throttle_digit(const char *id);

#endif
