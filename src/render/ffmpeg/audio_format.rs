//! Recognising the audio containers accepted from users by their first bytes, before ffmpeg
//! sees them: only plain audio containers get through, never a playlist or a list of files.

/// The audio containers accepted from users, each read by one ffmpeg demuxer that opens nothing
/// but the file it is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioFormat {
    Mp3,
    Wav,
    Ogg,
    Flac,
    /// MP4 / M4A / MOV (`ftyp`), read with external references (`dref`) disabled.
    Mp4,
    /// Raw AAC in ADTS frames.
    Aac,
    /// Matroska and WebM.
    Matroska,
    Aiff,
}

impl AudioFormat {
    /// How refusals name the accepted formats.
    pub const ACCEPTED: &'static str = "MP3, WAV, OGG, FLAC, M4A/MP4, AAC, WebM/Matroska or AIFF";

    /// The ffmpeg demuxer that reads this format.
    pub fn demuxer(self) -> &'static str {
        match self {
            AudioFormat::Mp3 => "mp3",
            AudioFormat::Wav => "wav",
            AudioFormat::Ogg => "ogg",
            AudioFormat::Flac => "flac",
            AudioFormat::Mp4 => "mov",
            AudioFormat::Aac => "aac",
            AudioFormat::Matroska => "matroska",
            AudioFormat::Aiff => "aiff",
        }
    }

    /// Recognises an accepted container from its first bytes; `None` for anything else
    /// (playlists, text, images, video-only containers are found out later by ffprobe).
    pub fn sniff(bytes: &[u8]) -> Option<AudioFormat> {
        let at =
            |offset: usize, magic: &[u8]| bytes.get(offset..offset + magic.len()) == Some(magic);
        if at(0, b"ID3") {
            // ID3v2 is a tag in front of MP3 (sometimes AAC or FLAC): look behind it. Without a
            // whole tag header it is nothing at all.
            let rest = bytes.get(id3_len(bytes)?..).unwrap_or_default();
            return Some(Self::sniff_untagged(rest).unwrap_or(AudioFormat::Mp3));
        }
        Self::sniff_untagged(bytes)
    }

    fn sniff_untagged(bytes: &[u8]) -> Option<AudioFormat> {
        let at =
            |offset: usize, magic: &[u8]| bytes.get(offset..offset + magic.len()) == Some(magic);
        if (at(0, b"RIFF") || at(0, b"RF64")) && at(8, b"WAVE") {
            Some(AudioFormat::Wav)
        } else if at(0, b"OggS") {
            Some(AudioFormat::Ogg)
        } else if at(0, b"fLaC") {
            Some(AudioFormat::Flac)
        } else if at(4, b"ftyp") {
            Some(AudioFormat::Mp4)
        } else if at(0, &[0x1a, 0x45, 0xdf, 0xa3]) {
            Some(AudioFormat::Matroska)
        } else if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
            Some(AudioFormat::Aiff)
        } else if is_adts(bytes) {
            Some(AudioFormat::Aac)
        } else if is_mpeg_audio_frame(bytes) {
            Some(AudioFormat::Mp3)
        } else {
            None
        }
    }
}

/// The length of a leading ID3v2 tag (header, body and footer).
fn id3_len(bytes: &[u8]) -> Option<usize> {
    let header = bytes.get(..10)?;
    let size = header[6..10].iter().try_fold(0usize, |acc, &b| {
        (b < 0x80).then_some((acc << 7) | usize::from(b))
    })?;
    let footer = if header[5] & 0x10 != 0 { 10 } else { 0 };
    Some(10 + size + footer)
}

/// An ADTS header: 12 sync bits, layer 0, a valid sampling index.
fn is_adts(bytes: &[u8]) -> bool {
    matches!(bytes, [0xff, b1, b2, ..] if b1 & 0xf6 == 0xf0 && (b2 >> 2) & 0x0f < 13)
}

/// An MPEG audio frame header (MP1/2/3): 11 sync bits, then no reserved version, layer,
/// bitrate or sample rate.
fn is_mpeg_audio_frame(bytes: &[u8]) -> bool {
    matches!(bytes, [0xff, b1, b2, ..]
        if b1 & 0xe0 == 0xe0
            && (b1 >> 3) & 0x03 != 0x01
            && (b1 >> 1) & 0x03 != 0x00
            && b2 >> 4 != 0x0f
            && (b2 >> 2) & 0x03 != 0x03)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_recognises_audio_containers() {
        let mut id3_mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x05ABCDE".to_vec();
        id3_mp3.extend_from_slice(&[0xff, 0xfb, 0x90, 0x64]);
        let mut id3_flac = b"ID3\x04\x00\x00\x00\x00\x00\x02AB".to_vec();
        id3_flac.extend_from_slice(b"fLaC\0\0\0\x22");
        let cases: &[(&[u8], AudioFormat)] = &[
            (&id3_mp3, AudioFormat::Mp3),
            (b"ID3\x04\x00\x00\x00\x00\x00\x00", AudioFormat::Mp3),
            (&id3_flac, AudioFormat::Flac),
            (&[0xff, 0xfb, 0x90, 0x64, 0, 0], AudioFormat::Mp3),
            (&[0xff, 0xf3, 0x64, 0xc4], AudioFormat::Mp3),
            (b"RIFF\x24\0\0\0WAVEfmt ", AudioFormat::Wav),
            (b"RF64\xff\xff\xff\xffWAVEds64", AudioFormat::Wav),
            (b"OggS\0\x02\0\0", AudioFormat::Ogg),
            (b"fLaC\0\0\0\x22", AudioFormat::Flac),
            (b"\0\0\0\x1cftypM4A \0\0\x02\0", AudioFormat::Mp4),
            (&[0x1a, 0x45, 0xdf, 0xa3, 0x9f], AudioFormat::Matroska),
            (b"FORM\0\x01\x58\xb6AIFFCOMM", AudioFormat::Aiff),
            (b"FORM\0\x01\x58\xb6AIFCFVER", AudioFormat::Aiff),
            (&[0xff, 0xf1, 0x50, 0x40, 0x21], AudioFormat::Aac),
        ];
        for (bytes, format) in cases {
            assert_eq!(AudioFormat::sniff(bytes), Some(*format), "{bytes:?}");
        }
    }

    #[test]
    fn sniffing_refuses_playlists_lists_and_everything_else() {
        let refused: &[&[u8]] = &[
            b"#EXTM3U\n#EXTINF:6.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
            b"ffconcat version 1.0\nfile '/etc/passwd'\n",
            b"v=0\no=- 0 0 IN IP4 127.0.0.1\n",
            b"<?xml version=\"1.0\"?><MPD>",
            b"[playlist]\nFile1=file:///etc/passwd\n",
            b"\x89PNG\r\n\x1a\n",
            b"RIFF\x24\0\0\0AVI LIST",
            b"FORM\0\0\0\0ILBM",
            &[0xff, 0xff, 0xff, 0xff],
            &[0xff, 0xfb, 0xf0, 0x00],
            b"ID3",
            b"",
        ];
        for bytes in refused {
            assert_eq!(AudioFormat::sniff(bytes), None, "{bytes:?}");
        }
    }
}
