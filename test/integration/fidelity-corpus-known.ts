// Known results of fidelity-corpus-dav.test.ts (issue #13): what Radicale refuses and what the
// servers give back changed, each with its reason. Keep it true: the test fails on a new entry
// and on a rejection that no longer happens.

/**
 * Items Radicale still refuses, by `file#n` (n = item index in the file), with Radicale's reason
 * (from its log). Xandikos accepts all of them. Groups: VEVENT without DTSTART (Symbian samples
 * with no time at all; RFC 5545 requires one), KDE's `X-messaging/aim-All` names with '/' (kept
 * verbatim, see test/fixtures/convert/README.md), overrides without their series or with an
 * RRULE (Symbian X-RECURRENCE-ID), broken VTIMEZONEs and date/date-time mixes in 2.0 input that
 * is passed through, undecodable base64 photos, two N. A new rejection fails the test.
 */
export const KNOWN_RADICALE_REJECTIONS: Record<string, string> = {
  'ez-vcard/text/John_Doe_ANDROID.vcf#4': 'Radicale: decoding with ’base64’ codec failed (Error: Invalid base64-encoded string: number of data characters (1169) cannot be 1 more than a multiple',
  'funambol-client-sdk/pim/vcard/goodvcards.txt#92': 'Radicale: decoding with ’base64’ codec failed (Error: Incorrect padding)',
  'gammu/vcards/quoted-printable-ascii.vcf#0': 'Radicale: ’VCARD components cannot contain more than 1 N’',
  'ical.js/samples/recur_instances.ics#0': 'Radicale: ’tuple’ object has no attribute ’year’',
  'ical.js/test-parser/component.ics#0': 'Radicale: dtstart',
  'ical.js/test-parser/vcard3.vcf#0': 'Radicale: ’VCARD components cannot contain more than 1 N’',
  'kcontacts/data/vcard12.vcf.2_1ref#0': 'Radicale: decoding with ’base64’ codec failed (Error: Incorrect padding)',
  'opensync/data/vtodos/evolution2/todo-full2.vcf#0': 'Radicale: At line 33: ’2005-03-T6T00:5’ is not a valid DATE-TIME',
  'opensync/data/vtodos/evolution2/todo-full3.vcf#0': 'Radicale: At line 33: ’2005--0-T-T6T::’ is not a valid DATE-TIME',
  'syncevolution/testcases/eds_event-alarms-2010-12-31.ics#0': 'Radicale: unsupported operand type(s) for -: ’datetime.datetime’ and ’datetime.date’',
  'syncevolution/testcases/eds_event-alarms-2010-12-31.ics#1': 'Radicale: unsupported operand type(s) for -: ’datetime.datetime’ and ’datetime.date’',
  'syncevolution/testcases/eds_event-alarms-2010-12-31.ics#2': 'Radicale: unsupported operand type(s) for -: ’datetime.datetime’ and ’datetime.date’',
  'syncevolution/testcases/eds_event-alarms-2010-12-31.ics#4': 'Radicale: unsupported operand type(s) for -: ’datetime.datetime’ and ’datetime.date’',
};

/**
 * Items a server stores but gives back changed, by `file#n`, with the first difference.
 * Radicale (vobject): EXDATE;VALUE=DATE rewritten as date-times, X- values of 3.0/4.0 input split
 * at their unescaped commas (2.1 X- values are escaped since #13), base64 re-padded, trailing `\\`
 * dropped. Xandikos: long
 * DESCRIPTIONs and two to-dos it does not list back.
 */
export const KNOWN_RADICALE_READBACK: Record<string, string> = {
  'android-vcard/raw/v21_backslash.vcf#0': 'N;:;A;B\\;C\\;;D;:E;\\\\ -> N;:;A;B\\;C\\;;D;:E',
  'android-vcard/raw/v21_malformed_photo.vcf#0': 'PHOTO;ENCODING=B;TYPE=JPEG:qgEPAAIAAAAHAAAAugEQAAIAAAAG:ASDF -> PHOTO;ENCODING=B;TYPE=JPEG:qgEPAAIAAAAHAAAAugEQAAIAAAAGASDF',
  'ez-vcard/text/John_Doe_MAC_ADDRESS_BOOK.vcf#0': 'X-ABUID;:6B29…:ABPerson -> X-ABUID;:6B29…\\:ABPerson (vobject writes a colon in an X- value as \\:; not an escape of RFC 2426)',
  'funambol-cpp-client-api/testcases/ical20.ics#8': 'EXDATE;VALUE=DATE:20060407 -> EXDATE;:20060407T183000Z',
  'ical.js/samples/forced_types.ics#0': 'TRIGGER;:0s',
  'ical.js/samples/rdate_exdate.ics#0': 'EXDATE;VALUE=DATE:20240611 -> EXDATE;:20240611T030000Z',
  'ical.js/samples/utc_negative_zero.ics#0': 'DTEND;TZID=ETC/GMT:20120821T213000 -> DTEND;TZID=ETC/GMT:20120821T213000Z',
  'kcalendarcore/Compat-libicalV4/KOrganizer_3.1.ics#11': 'EXDATE;VALUE=DATE:20031209 -> EXDATE;:20031209T163000Z',
  'kcalendarcore/Compat-libicalV4/KOrganizer_3.1.ics.ical.ref#6': 'EXDATE;VALUE=DATE:20031209 -> EXDATE;:20031209T163000Z',
  'opensync/data/vevents/evolution2/evo2-recur-until.vcf#0': 'EXDATE;VALUE=DATE:20050308 -> EXDATE;TZID=/SOFTWARESTUDIO.ORG/OLSON_20011030_5/EUROPE/BERL',
  'opensync/data/vevents/evolution2/rec-except.vcf#0': 'EXDATE;VALUE=DATE:20050104 -> EXDATE;TZID=/SOFTWARESTUDIO.ORG/OLSON_20011030_5/EUROPE/BERL',
  'symbian-versit/calendar-ImportvCals/vCal98.vcs#0': 'EXDATE;VALUE=DATE:19990101 -> EXDATE;:19990101T100000',
  'symbian-versit/calendar-ImportvCals/vCal98.vcs#1': 'EXDATE;VALUE=DATE:19990101 -> EXDATE;:19990101T100000',
  'symbian-versit/calendar-ImportvCals/vCal98.vcs#2': 'EXDATE;VALUE=DATE:19990101 -> EXDATE;:19990101T100000',
  'symbian-versit/calendar-ImportvCals/vCal98.vcs#3': 'EXDATE;VALUE=DATE:19990101 -> EXDATE;:19990101T100000',
  'symbian-versit/calendar-ImportvCals/vCal98.vcs#4': 'EXDATE;VALUE=DATE:19990101 -> EXDATE;:19990101T100000',
  'syncevolution/testcases/google_event.ics#7': 'EXDATE;VALUE=DATE:20060407 -> EXDATE;TZID=EUROPE/BERLIN:20060407T203000',
};
export const KNOWN_XANDIKOS_READBACK: Record<string, string> = {
  'funambol-client-sdk/pim/icalendar/todosTestCases.txt#1': 'DESCRIPTION;:first line first line first line first line fir -> DESCRIPTION;:first line first line first line first line fir',
  'funambol-cpp-client-api/testcases/ical20.ics#9': 'DESCRIPTION;:this is an appointment with plenty of fields se -> DESCRIPTION;:this is an appointment with plenty of fields se',
  'ical.js/test-parser/component.ics#0': 'SUMMARY;:foo \\nbar -> SUMMARY;:foo bar',
  'kcalendarcore/Compat-libicalV4/KOrganizer_3.1a.ics#0': 'DESCRIPTION;:Can you spell utf8? ÄÖÜäöüß Can you escape? Sla -> DESCRIPTION;:Can you spell utf8? ÄÖÜäöüß Can you escape? Sla',
  'kcalendarcore/Compat-libicalV4/KOrganizer_3.1a.ics.ical.ref#1': 'DESCRIPTION;:Can you spell utf8? ÄÖÜäöüß Can you escape? Sla -> DESCRIPTION;:Can you spell utf8? ÄÖÜäöüß Can you escape? Sla',
  'opensync/data/vevents/evolution2/full-special.vcf#0': 'DESCRIPTION;:/&/((//&%$%!$§\\"&%!$§&%$!&$%R§\\"/&%!(//=)()?=?{ -> DESCRIPTION;:/&/((//&%$%!$§\\"&%!$§&%$!&$%R§\\"/&%!(//=)()?=?{',
  'opensync/data/vtodos/evolution2/todo-full2.vcf#0': '- (item missing)',
  'opensync/data/vtodos/evolution2/todo-full3.vcf#0': '- (item missing)',
  'opensync/data/vtodos/evolution2/todo-full7.vcf#0': 'DESCRIPTION;:desfeefä üöüfeü öüü+#+´ßß?\\=0)()/(&/%&$§\\"!{[]} -> DESCRIPTION;:desfeefä üöüfeü öüü+#+´ßß?\\=0)()/(&/%&$§\\"!{[]}',
  'syncevolution/testcases/eds_event.ics#9': 'DESCRIPTION;:this is an appointment with plenty of fields se -> DESCRIPTION;:this is an appointment with plenty of fields se',
  'syncevolution/testcases/google_event.ics#8': 'DESCRIPTION;:this is an appointment with plenty of fields se -> DESCRIPTION;:this is an appointment with plenty of fields se',
};
