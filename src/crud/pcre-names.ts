/**
 * The names PCRE2 10.42 knows, as pcre-syntax.ts reads them: POSIX classes, the escapes of one
 * letter, and the Unicode properties of `\p{…}` (general categories, scripts, binary properties,
 * bidi classes).
 */

export const POSIX_NAMES = new Set([
  'alpha',
  'lower',
  'upper',
  'alnum',
  'ascii',
  'blank',
  'cntrl',
  'digit',
  'graph',
  'print',
  'punct',
  'space',
  'word',
  'xdigit',
]);
/** Escapes of one letter PCRE2 reads outside a class (the others are errors). */
export const LETTER_ESCAPES = new Set('aAbBCdDeEfGhHKnNrRsStvVwWXzZ'.split(''));

/** General categories and PCRE2's own properties. */
const CATEGORIES = new Set(
  'any l& lc c cc cf cn co cs l ll lm lo lt lu m mc me mn n nd nl no p pc pd pe pf pi po ps s sc sk sm so z zl zp zs xan xps xsp xuc xwd'.split(
    ' ',
  ),
);
const BIDI_CLASSES = new Set('al an b bn cs en es et fsi l lre lri lro nsm on pdf pdi r rle rli rlo s ws'.split(' '));
/** Scripts and their short names, as pcre2test 10.42 -LS lists them. */
const SCRIPTS = new Set(
  (
    'adlam adlm aghb ahom anatolianhieroglyphs arab arabic armenian armi armn avestan avst bali ' +
    'balinese bamu bamum bass bassavah batak batk beng bengali bhaiksuki bhks bopo bopomofo brah ' +
    'brahmi brai braille bugi buginese buhd buhid cakm canadianaboriginal cans cari carian ' +
    'caucasianalbanian chakma cham cher cherokee chorasmian chrs common copt coptic cpmn cprt ' +
    'cuneiform cypriot cyprominoan cyrillic cyrl deseret deva devanagari diak divesakuru dogr dogra ' +
    'dsrt dupl duployan egyp egyptianhieroglyphs elba elbasan elym elymaic ethi ethiopic geor ' +
    'georgian glag glagolitic gong gonm goth gothic gran grantha greek grek gujarati gujr ' +
    'gunjalagondi gurmukhi guru han hang hangul hani hanifirohingya hano hanunoo hatr hatran hebr ' +
    'hebrew hira hiragana hluw hmng hmnp hung imperialaramaic inherited inscriptionalpahlavi ' +
    'inscriptionalparthian ital java javanese kaithi kali kana kannada katakana kayahli khar ' +
    'kharoshthi khitansmallscript khmer khmr khoj khojki khudawadi kits knda kthi lana lao laoo latin ' +
    'latn lepc lepcha limb limbu lina linb lineara linearb lisu lyci lycian lydi lydian mahajani mahj ' +
    'maka makasar malayalam mand mandaic mani manichaean marc marchen masaramgondi medefaidrin medf ' +
    'meeteimayek mend mendekikakui merc mero meroiticcursive meroitichieroglyphs miao mlym modi mong ' +
    'mongolian mro mroo mtei mult multani myanmar mymr nabataean nand nandinagari narb nbat newa ' +
    'newtailue nko nkoo nshu nushu nyiakengpuachuehmong ogam ogham olchiki olck oldhungarian ' +
    'olditalic oldnortharabian oldpermic oldpersian oldsogdian oldsoutharabian oldturkic olduyghur ' +
    'oriya orkh orya osage osge osma osmanya ougr pahawhhmong palm palmyrene pauc paucinhau perm phag ' +
    'phagspa phli phlp phnx phoenician plrd prti psalterpahlavi qaac qaai rejang rjng rohg runic runr ' +
    'samaritan samr sarb saur saurashtra sgnw sharada shavian shaw shrd sidd siddham signwriting sind ' +
    'sinh sinhala sogd sogdian sogo sora sorasompeng soyo soyombo sund sundanese sylo sylotinagri ' +
    'syrc syriac tagalog tagb tagbanwa taile taitham taiviet takr takri tale talu tamil taml tang ' +
    'tangsa tangut tavt telu telugu tfng tglg thaa thaana thai tibetan tibt tifinagh tirh tirhuta ' +
    'tnsa toto ugar ugaritic unknown vai vaii vith vithkuqi wancho wara warangciti wcho xpeo xsux ' +
    'yezi yezidi yi yiii zanabazarsquare zanb zinh zyyy zzzz'
  ).split(' '),
);
/** Binary properties and their short names, as pcre2test 10.42 -LP lists them. */
const BINARY = new Set(
  (
    'ahex alpha alphabetic ascii asciihexdigit bidic bidicontrol bidim bidimirrored cased ' +
    'caseignorable changeswhencasefolded changeswhencasemapped changeswhenlowercased ' +
    'changeswhentitlecased changeswhenuppercased ci cwcf cwcm cwl cwt cwu dash ' +
    'defaultignorablecodepoint dep deprecated di dia diacritic ebase ecomp emod emoji emojicomponent ' +
    'emojimodifier emojimodifierbase emojipresentation epres ext extendedpictographic extender ' +
    'extpict graphemebase graphemeextend graphemelink grbase grext grlink hex hexdigit idc idcontinue ' +
    'ideo ideographic ids idsb idsbinaryoperator idst idstart idstrinaryoperator joinc joincontrol ' +
    'loe logicalorderexception lower lowercase math nchar noncharactercodepoint patsyn patternsyntax ' +
    'patternwhitespace patws pcm prependedconcatenationmark qmark quotationmark radical ' +
    'regionalindicator ri sd sentenceterminal softdotted space sterm term terminalpunctuation uideo ' +
    'unifiedideograph upper uppercase variationselector vs whitespace wspace xidc xidcontinue xids ' +
    'xidstart'
  ).split(' '),
);

/** Whether `\p{given}` names a property PCRE2 10.42 knows, matched loosely (case, spaces, `-`, `_`). */
export function knownProperty(given: string): boolean {
  const name = given
    .replace(/^\^/, '')
    .replace(/[\s_-]/g, '')
    .toLowerCase();
  const typed = /^(bc|bidiclass|sc|script|scx|scriptextensions)[:=](.*)$/.exec(name);
  if (typed) return typed[1] === 'bc' || typed[1] === 'bidiclass' ? BIDI_CLASSES.has(typed[2]!) : SCRIPTS.has(typed[2]!);
  return CATEGORIES.has(name) || SCRIPTS.has(name) || BINARY.has(name);
}
